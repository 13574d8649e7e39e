package dev.fulcrum.admin;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fulcrum.pool.LocalPools;
import dev.fulcrum.pool.PoolControl;
import dev.fulcrum.pool.PoolEntity;
import dev.fulcrum.pool.PoolState;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * {@code GET /api/cluster}: the members as this node sees them (address, status, roles, reachability), the leader, and
 * the node that runs each pool's entity. A pool whose entity does not answer within a second (it is moving between
 * nodes, or waiting for its journal) shows {@code "entityNode": null}.
 */
final class ClusterView {
  private final ActorSystem<?> system;
  private final PoolControl pools;
  private final Duration askTimeout;
  private static final Duration LOCATE = Duration.ofSeconds(1);

  ClusterView(ActorSystem<?> system, PoolControl pools, Duration askTimeout) {
    this.system = system;
    this.pools = pools;
    this.askTimeout = askTimeout;
  }

  CompletionStage<ObjectNode> render() {
    java.util.Optional<ActorSystem<?>> incarnation = pools.clusterSystem();
    if (incarnation.isEmpty()) {
      ObjectNode view = Json.object().putNull("self").put("status", "rejoining");
      view.putArray("members");
      view.putArray("pools");
      return java.util.concurrent.CompletableFuture.completedFuture(view);
    }
    Cluster cluster = Cluster.get(incarnation.get());
    ClusterEvent.CurrentClusterState state = cluster.state();
    ObjectNode view = Json.object().put("self", cluster.selfMember().address().toString())
        .put("status", cluster.selfMember().status().toString());
    view.put("leader", state.getLeader() == null ? null : state.getLeader().toString());
    Set<Member> unreachable = state.getUnreachable();
    ArrayNode members = view.putArray("members");
    for (Member member : state.getMembers()) {
      ObjectNode m = members.addObject()
          .put("address", member.address().toString())
          .put("status", member.status().toString())
          .put("reachability", unreachable.contains(member) ? "unreachable" : "reachable");
      member.getRoles().stream().sorted().forEach(m.putArray("roles")::add);
    }
    return AskPattern.ask(pools.localPools(), LocalPools.GetPools::new, askTimeout, system.scheduler())
        .thenCompose(known -> {
          List<CompletableFuture<ObjectNode>> located = new ArrayList<>();
          for (PoolState pool : known.existing()) located.add(locate(pool.name()).toCompletableFuture());
          return CompletableFuture.allOf(located.toArray(CompletableFuture[]::new)).thenApply(all -> {
            ArrayNode array = view.putArray("pools");
            located.forEach(l -> array.add(l.join()));
            return view;
          });
        });
  }

  private CompletionStage<ObjectNode> locate(String pool) {
    // An entity that does not answer at once is moving or waiting for its journal: say so rather than wait for it.
    CompletionStage<PoolEntity.Location> asked;
    try {
      asked = pools.pool(pool).ask(PoolEntity.GetLocation::new, LOCATE);
    } catch (IllegalStateException notAMember) {
      asked = java.util.concurrent.CompletableFuture.failedFuture(notAMember);
    }
    return asked
        .handle((location, failure) -> Json.object()
            .put("name", pool)
            .put("entityNode", failure == null ? location.node() : null));
  }
}
