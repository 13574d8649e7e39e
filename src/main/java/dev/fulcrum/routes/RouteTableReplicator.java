package dev.fulcrum.routes;

import java.time.Duration;
import org.apache.pekko.actor.typed.Behavior;
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
 */
public final class RouteTableReplicator {
  public sealed interface Command {}

  public record Publish(RouteTableState state) implements Command {}

  private record Written(Replicator.UpdateResponse<LWWMap<String, RouteTableState>> response) implements Command {}

  private record Replicated(Replicator.SubscribeResponse<LWWMap<String, RouteTableState>> response) implements Command {}

  private RouteTableReplicator() {}

  public static Behavior<Command> create(LocalRoutes local, Duration writeTimeout) {
    return Behaviors.setup(ctx -> DistributedData.<Command, LWWMap<String, RouteTableState>>withReplicatorMessageAdapter(replicator -> {
      SelfUniqueAddress self = DistributedData.get(ctx.getSystem()).selfUniqueAddress();
      replicator.subscribe(ReplicatedRouteTables.KEY, Replicated::new);
      return Behaviors.receive(Command.class)
          .onMessage(Publish.class, m -> {
            local.offer(m.state());
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
