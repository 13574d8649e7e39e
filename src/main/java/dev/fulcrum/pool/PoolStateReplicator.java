package dev.fulcrum.pool;

import java.time.Duration;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.ddata.LWWMap;
import org.apache.pekko.cluster.ddata.SelfUniqueAddress;
import org.apache.pekko.cluster.ddata.typed.javadsl.DistributedData;
import org.apache.pekko.cluster.ddata.typed.javadsl.Replicator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One per node, between the pool entities and the routers. An entity running on this node publishes each new state
 * here: it goes to this node's {@link LocalPools} at once and into {@link ReplicatedPoolStates} with a write to all
 * nodes. Every state that arrives through Distributed Data (from any node's entities) goes to this node's
 * {@code LocalPools}, which keeps only states newer than its own.
 *
 * <p>A write that times out (a node is unreachable or leaving) is not lost: it is in this node's replica already and
 * reaches the others by gossip, so it is only logged.
 */
public final class PoolStateReplicator {
  private static final Logger log = LoggerFactory.getLogger(PoolStateReplicator.class);

  public sealed interface Command {}

  /** A new state from an entity on this node. */
  public record Publish(PoolState state) implements Command {}

  private record Written(PoolState state, Replicator.UpdateResponse<LWWMap<String, PoolState>> response) implements Command {}

  private record Replicated(Replicator.SubscribeResponse<LWWMap<String, PoolState>> response) implements Command {}

  private PoolStateReplicator() {}

  public static Behavior<Command> create(ActorRef<LocalPools.Command> localPools, Duration writeTimeout) {
    return Behaviors.setup(ctx -> DistributedData.<Command, LWWMap<String, PoolState>>withReplicatorMessageAdapter(replicator -> {
      SelfUniqueAddress self = DistributedData.get(ctx.getSystem()).selfUniqueAddress();
      replicator.subscribe(ReplicatedPoolStates.KEY, Replicated::new);
      return Behaviors.receive(Command.class)
          .onMessage(Publish.class, m -> {
            localPools.tell(new LocalPools.StateChanged(m.state()));
            replicator.askUpdate(
                replyTo -> new Replicator.Update<>(ReplicatedPoolStates.KEY, LWWMap.create(), new Replicator.WriteAll(writeTimeout),
                    replyTo, map -> ReplicatedPoolStates.offer(map, self, m.state())),
                response -> new Written(m.state(), response));
            return Behaviors.same();
          })
          .onMessage(Written.class, m -> {
            if (!(m.response() instanceof Replicator.UpdateSuccess)) {
              log.debug("pool {} version {} not yet on every node ({}); gossip will bring it there",
                  m.state().name(), m.state().version(), m.response().getClass().getSimpleName());
            }
            return Behaviors.same();
          })
          .onMessage(Replicated.class, m -> {
            if (m.response() instanceof Replicator.Changed<LWWMap<String, PoolState>> changed) {
              changed.dataValue().getEntries().values().forEach(state -> localPools.tell(new LocalPools.StateChanged(state)));
            }
            return Behaviors.same();
          })
          .build();
    }));
  }
}
