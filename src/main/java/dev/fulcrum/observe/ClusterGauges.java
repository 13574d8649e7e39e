package dev.fulcrum.observe;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.typed.Cluster;

/** This node's view of the cluster, read from Pekko's cluster state when scraped: members by status, unreachable ones. */
final class ClusterGauges {
  private final MultiGauge members;
  private final MultiGauge unreachable;
  private final MultiGauge leader;
  private final MultiGauge entities;
  /** An entity that does not answer at once is moving or waiting for its journal: the scrape does not wait for it. */
  private static final java.time.Duration LOCATE = java.time.Duration.ofSeconds(1);

  ClusterGauges(MeterRegistry registry) {
    members = MultiGauge.builder("fulcrum.cluster.members").description("Cluster members by status, as this node sees them")
        .register(registry);
    unreachable = MultiGauge.builder("fulcrum.cluster.unreachable.members")
        .description("Cluster members this node cannot reach").register(registry);
    leader = MultiGauge.builder("fulcrum.cluster.leader").description("1 when this node is the cluster's leader")
        .register(registry);
    entities = MultiGauge.builder("fulcrum.pool.entity.location")
        .description("1 for the cluster node that runs the pool's entity, as this node finds it (no row while it moves)")
        .register(registry);
  }

  /**
   * Asks each pool's entity where it runs (at most {@link #LOCATE}; one that does not answer has no row) and
   * publishes the answers. Scrape time only.
   */
  java.util.concurrent.CompletionStage<Void> locateEntities(ActorSystem<?> system, dev.fulcrum.pool.PoolControl pools,
      java.time.Duration timeout) {
    if (pools == null || pools.clusterSystem().isEmpty()) {
      entities.register(List.of(), true);
      return java.util.concurrent.CompletableFuture.completedFuture(null);
    }
    return org.apache.pekko.actor.typed.javadsl.AskPattern.<dev.fulcrum.pool.LocalPools.Command,
            dev.fulcrum.pool.LocalPools.Pools>ask(
            pools.localPools(), dev.fulcrum.pool.LocalPools.GetPools::new, timeout, system.scheduler())
        .thenCompose(known -> {
          List<java.util.concurrent.CompletableFuture<MultiGauge.Row<?>>> located = new ArrayList<>();
          for (dev.fulcrum.pool.PoolState pool : known.existing()) {
            java.util.concurrent.CompletionStage<dev.fulcrum.pool.PoolEntity.Location> asked;
            try {
              asked = pools.pool(pool.name()).ask(dev.fulcrum.pool.PoolEntity.GetLocation::new, LOCATE);
            } catch (IllegalStateException notAMember) {
              asked = java.util.concurrent.CompletableFuture.failedFuture(notAMember);
            }
            located.add(asked.<MultiGauge.Row<?>>handle((where, failure) -> failure != null ? null
                : MultiGauge.Row.of(Tags.of("pool", where.pool(), "node", where.node()), 1)).toCompletableFuture());
          }
          return java.util.concurrent.CompletableFuture.allOf(
              located.toArray(java.util.concurrent.CompletableFuture[]::new)).thenAccept(all -> {
                List<MultiGauge.Row<?>> rows = new ArrayList<>();
                for (var row : located) if (row.join() != null) rows.add(row.join());
                entities.register(rows, true);
              });
        });
  }

  /**
   * Reads the cluster state of the node's current cluster incarnation ({@code clusterSystem}, empty while it is
   * (re)starting: then the gauges show no members, as the node is in no cluster at that moment).
   */
  void publish(java.util.Optional<ActorSystem<?>> clusterSystem) {
    if (clusterSystem.isEmpty()) {
      members.register(List.of(), true);
      unreachable.register(List.of(), true);
      leader.register(List.of(), true);
      return;
    }
    Cluster cluster = Cluster.get(clusterSystem.get());
    ClusterEvent.CurrentClusterState state = cluster.state();
    Map<String, Integer> byStatus = new TreeMap<>();
    for (Member m : state.getMembers()) byStatus.merge(m.status().toString(), 1, Integer::sum);
    List<MultiGauge.Row<?>> rows = new ArrayList<>();
    byStatus.forEach((status, count) -> rows.add(MultiGauge.Row.of(Tags.of("status", status), count)));
    members.register(rows, true);
    unreachable.register(List.of(MultiGauge.Row.of(Tags.empty(), state.getUnreachable().size())), true);
    boolean isLeader = cluster.selfMember().address().equals(state.getLeader());
    leader.register(List.of(MultiGauge.Row.of(Tags.empty(), isLeader ? 1 : 0)), true);
  }
}
