package dev.fulcrum.cluster;

import dev.fulcrum.events.FulcrumEvent;
import dev.fulcrum.events.FulcrumEvents;
import java.time.Instant;
import java.util.Locale;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;

/**
 * Runs in a cluster incarnation and tells the node's event hub of every membership and reachability change this
 * incarnation sees. The snapshot Pekko sends first is not news and is left out.
 */
final class MemberEvents {
  private MemberEvents() {}

  static Behavior<ClusterEvent.ClusterDomainEvent> create(FulcrumEvents events) {
    return Behaviors.setup(ctx -> {
      Cluster cluster = Cluster.get(ctx.getSystem());
      cluster.subscriptions().tell(Subscribe.create(ctx.getSelf().narrow(), ClusterEvent.MemberEvent.class));
      cluster.subscriptions().tell(Subscribe.create(ctx.getSelf().narrow(), ClusterEvent.ReachabilityEvent.class));
      return Behaviors.receive(ClusterEvent.ClusterDomainEvent.class)
          .onMessage(ClusterEvent.MemberEvent.class, e -> {
            publish(events, cluster, e.member(), status(e));
            return Behaviors.same();
          })
          .onMessage(ClusterEvent.UnreachableMember.class, e -> {
            publish(events, cluster, e.member(), "unreachable");
            return Behaviors.same();
          })
          .onMessage(ClusterEvent.ReachableMember.class, e -> {
            publish(events, cluster, e.member(), "reachable");
            return Behaviors.same();
          })
          .onAnyMessage(other -> Behaviors.same())
          .build();
    });
  }

  private static String status(ClusterEvent.MemberEvent e) {
    if (e instanceof ClusterEvent.MemberRemoved) return "removed";
    if (e instanceof ClusterEvent.MemberDowned) return "down";
    return e.member().status().toString().toLowerCase(Locale.ROOT).replace("weaklyup", "weakly-up");
  }

  private static void publish(FulcrumEvents events, Cluster cluster, Member member, String status) {
    events.publish(new FulcrumEvent.MemberChanged(
        member.address().toString(), status, member.uniqueAddress().equals(cluster.selfMember().uniqueAddress()), Instant.now()));
  }
}
