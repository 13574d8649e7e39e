package dev.fulcrum.routes;

import java.time.Duration;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.pubsub.Topic;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.ddata.LWWMap;
import org.apache.pekko.cluster.ddata.SelfUniqueAddress;
import org.apache.pekko.cluster.ddata.typed.javadsl.DistributedData;
import org.apache.pekko.cluster.ddata.typed.javadsl.Replicator;

/**
 * One per node, as {@link dev.fulcrum.pool.PoolStateReplicator}: a table published by an entity on this node goes to
 * this node's {@link LocalRoutes} at once and to every node with a write to all; every table that arrives through
 * Distributed Data goes to {@code LocalRoutes}, which keeps only newer versions. A write that times out is in the local
 * replica already and spreads by gossip.
 *
 * <p>Distributed Data tells its subscribers on a tick, so each table is also pushed to every node's replicator through
 * a pub-sub topic, which delivers at once: the push is what makes a change visible everywhere within milliseconds, the
 * replicated map what makes it certain (a node that missed the push, joined later or restarted).
 */
public final class RouteTableReplicator {
  public sealed interface Command {}

  public record Publish(RouteTableState state) implements Command {}

  private record Written(Replicator.UpdateResponse<LWWMap<String, RouteTableState>> response) implements Command {}

  private record Replicated(Replicator.SubscribeResponse<LWWMap<String, RouteTableState>> response) implements Command {}

  private record Pushed(RouteTableState state) implements Command {}

  private RouteTableReplicator() {}

  public static Behavior<Command> create(LocalRoutes local, Duration writeTimeout) {
    return Behaviors.setup(ctx -> DistributedData.<Command, LWWMap<String, RouteTableState>>withReplicatorMessageAdapter(replicator -> {
      SelfUniqueAddress self = DistributedData.get(ctx.getSystem()).selfUniqueAddress();
      replicator.subscribe(ReplicatedRouteTables.KEY, Replicated::new);
      ActorRef<Topic.Command<RouteTableState>> topic = ctx.spawn(Topic.create(RouteTableState.class, "fulcrum-route-tables"), "topic");
      topic.tell(Topic.subscribe(ctx.messageAdapter(RouteTableState.class, Pushed::new)));
      return Behaviors.receive(Command.class)
          .onMessage(Pushed.class, m -> {
            local.offer(m.state());
            return Behaviors.same();
          })
          .onMessage(Publish.class, m -> {
            local.offer(m.state());
            topic.tell(Topic.publish(m.state()));
            replicator.askUpdate(
                replyTo -> new Replicator.Update<>(ReplicatedRouteTables.KEY, LWWMap.create(), new Replicator.WriteAll(writeTimeout),
                    replyTo, map -> ReplicatedRouteTables.offer(map, self, m.state())),
                Written::new);
            return Behaviors.same();
          })
          .onMessage(Written.class, m -> Behaviors.same())
          .onMessage(Replicated.class, m -> {
            if (m.response() instanceof Replicator.Changed<LWWMap<String, RouteTableState>> changed) {
              changed.dataValue().getEntries().values().forEach(local::offer);
            }
            return Behaviors.same();
          })
          .build();
    }));
  }
}
