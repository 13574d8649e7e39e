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

  ClusterGauges(MeterRegistry registry) {
    members = MultiGauge.builder("fulcrum.cluster.members").description("Cluster members by status, as this node sees them")
        .register(registry);
    unreachable = MultiGauge.builder("fulcrum.cluster.unreachable.members")
        .description("Cluster members this node cannot reach").register(registry);
    leader = MultiGauge.builder("fulcrum.cluster.leader").description("1 when this node is the cluster's leader")
        .register(registry);
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
