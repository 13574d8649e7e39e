package dev.fulcrum.routes;

import dev.fulcrum.CborSerializable;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;
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
 * <p>Distributed Data tells its subscribers on a tick, so each table is also pushed straight to the replicator of every
 * other node (they find each other through the receptionist): one message from the entity's node to each other
 * node's replicator, which is what makes a change visible everywhere within milliseconds (a pub-sub topic would add a
 * hop through its own actor on either side); the replicated map is what makes it certain (a node that missed the push,
 * joined later, restarted, or was on the other side of a partition).
 */
public final class RouteTableReplicator {
  /** How the replicators of the cluster's nodes find each other. */
  static final ServiceKey<Command> REPLICATORS = ServiceKey.create(Command.class, "fulcrum-route-table-replicators");

  public sealed interface Command {}

  public record Publish(RouteTableState state) implements Command {}

  private record Written(Replicator.UpdateResponse<LWWMap<String, RouteTableState>> response) implements Command {}

  private record Replicated(Replicator.SubscribeResponse<LWWMap<String, RouteTableState>> response) implements Command {}

  private record Listed(Receptionist.Listing listing) implements Command {}

  /** A table published on another node, sent straight to this node's replicator. */
  public record Pushed(RouteTableState state) implements Command, CborSerializable {}

  private RouteTableReplicator() {}

  public static Behavior<Command> create(LocalRoutes local, Duration writeTimeout) {
    return Behaviors.setup(ctx -> DistributedData.<Command, LWWMap<String, RouteTableState>>withReplicatorMessageAdapter(replicator -> {
      SelfUniqueAddress self = DistributedData.get(ctx.getSystem()).selfUniqueAddress();
      replicator.subscribe(ReplicatedRouteTables.KEY, Replicated::new);
      ActorRef<Receptionist.Command> receptionist = ctx.getSystem().receptionist();
      receptionist.tell(Receptionist.register(REPLICATORS, ctx.getSelf()));
      receptionist.tell(Receptionist.subscribe(REPLICATORS, ctx.messageAdapter(Receptionist.Listing.class, Listed::new)));
      List<ActorRef<Command>> others = new ArrayList<>();
      return Behaviors.receive(Command.class)
          .onMessage(Listed.class, m -> {
            others.clear();
            for (ActorRef<Command> r : m.listing().getServiceInstances(REPLICATORS)) if (!r.equals(ctx.getSelf())) others.add(r);
            return Behaviors.same();
          })
          .onMessage(Pushed.class, m -> {
            local.offer(m.state());
            return Behaviors.same();
          })
          .onMessage(Publish.class, m -> {
            local.offer(m.state());
            Pushed push = new Pushed(m.state());
            for (ActorRef<Command> other : others) other.tell(push);
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
