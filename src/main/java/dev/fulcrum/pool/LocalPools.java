package dev.fulcrum.pool;

import dev.fulcrum.config.PoolSettings;
import dev.fulcrum.config.StrategySettings;
import dev.fulcrum.routing.PoolRouter;
import dev.fulcrum.routing.RoutingTables;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.Optional;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * The pools as this node knows them, and their routers: one per node. It follows the states the entities publish,
 * keeping only a state newer than the one it has, spawns a {@link PoolRouter} for a pool it sees for the first time
 * and reconfigures it on every change. A deleted pool's router is emptied (its table has no backends, so listeners
 * bound to the pool refuse connections) and reused if the pool is created again.
 */
public final class LocalPools extends AbstractBehavior<LocalPools.Command> {

  public sealed interface Command {}

  /** A pool's new state, from its entity (or replicated from another node). */
  public record StateChanged(PoolState state) implements Command {}

  /** As {@link StateChanged}, replying once the router has been told. */
  public record Apply(PoolState state, ActorRef<Done> replyTo) implements Command {}

  public record GetPools(ActorRef<Pools> replyTo) implements Command {}

  /**
   * Replies once this node has the pool at {@code version} or newer (its router told), e.g. to answer a change made on
   * another node's entity only once this node routes by it. No reply while it has not: ask with a timeout.
   */
  public record AwaitVersion(String pool, long version, ActorRef<Done> replyTo) implements Command {}

  /**
   * Pools that exist, in name order, the router of every pool seen (existing or not), and the latest state of every
   * pool seen (deleted ones too).
   */
  public record Pools(List<PoolState> existing, Map<String, ActorRef<PoolRouter.Command>> routers, Map<String, PoolState> known) {
    public Pools {
      existing = List.copyOf(existing);
      routers = Map.copyOf(routers);
      known = Map.copyOf(known);
    }

    public Optional<ActorRef<PoolRouter.Command>> router(String pool) {
      return Optional.ofNullable(routers.get(pool));
    }

    /** The pool's latest state this node has, deleted or not; empty if it never heard of the pool. */
    public Optional<PoolState> state(String pool) {
      return Optional.ofNullable(known.get(pool));
    }
  }

  private final RoutingTables tables;
  private final Function<String, StrategySettings> balancing;
  private final dev.fulcrum.backend.HealthProbes probes;
  private final Map<String, PoolState> states = new LinkedHashMap<>();
  private final Map<String, ActorRef<PoolRouter.Command>> routers = new LinkedHashMap<>();
  private final List<AwaitVersion> waiting = new ArrayList<>();

  /** {@code balancing} gives each pool's node-local balancing settings (see FulcrumSettings.balancingFor). */
  public static Behavior<Command> create(
      RoutingTables tables, Function<String, StrategySettings> balancing, dev.fulcrum.backend.HealthProbes probes) {
    return create(tables, balancing, probes, java.util.concurrent.ConcurrentHashMap.newKeySet());
  }

  /** {@code existing} is kept equal to the names of the pools that exist, for readers outside the actor. */
  public static Behavior<Command> create(
      RoutingTables tables, Function<String, StrategySettings> balancing, dev.fulcrum.backend.HealthProbes probes,
      java.util.Set<String> existing) {
    return Behaviors.setup(ctx -> new LocalPools(ctx, tables, balancing, probes, existing));
  }

  private final java.util.Set<String> existing;

  private LocalPools(
      ActorContext<Command> ctx, RoutingTables tables, Function<String, StrategySettings> balancing, dev.fulcrum.backend.HealthProbes probes,
      java.util.Set<String> existing) {
    super(ctx);
    this.existing = existing;
    this.probes = probes;
    this.tables = tables;
    this.balancing = balancing;
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(StateChanged.class, m -> {
          apply(m.state());
          release(m.state().name());
          return this;
        })
        .onMessage(Apply.class, m -> {
          apply(m.state());
          release(m.state().name());
          m.replyTo().tell(Done.getInstance());
          return this;
        })
        .onMessage(AwaitVersion.class, m -> {
          PoolState known = states.get(m.pool());
          if (known != null && known.version() >= m.version()) m.replyTo().tell(Done.getInstance());
          else waiting.add(m);
          return this;
        })
        .onMessage(GetPools.class, m -> {
          m.replyTo().tell(new Pools(
              states.values().stream().filter(PoolState::exists).sorted(java.util.Comparator.comparing(PoolState::name)).toList(),
              routers,
              states));
          return this;
        })
        .build();
  }

  private void apply(PoolState state) {
    PoolState known = states.get(state.name());
    if (known != null && known.version() >= state.version()) return;
    states.put(state.name(), state);
    if (state.exists()) existing.add(state.name());
    else existing.remove(state.name());
    ActorRef<PoolRouter.Command> router = routers.get(state.name());
    if (!state.exists()) {
      if (router != null && known != null && known.exists()) router.tell(new PoolRouter.Configure(routed(emptied(known))));
      return;
    }
    if (router == null) {
      routers.put(state.name(), getContext().spawn(PoolRouter.create(routed(state.pool()), tables, probes), "pool-" + state.name()));
    } else {
      router.tell(new PoolRouter.Configure(routed(state.pool())));
    }
  }

  private PoolSettings routed(PoolSettings pool) {
    return pool.withStrategySettings(balancing.apply(pool.name()));
  }

  /**
   * Answers the pool's waiters that its state now satisfies, after its router was told (so a waiter's next question to
   * the router comes behind the change). Every awaited version arrives in the end: the entity persisted it first.
   */
  private void release(String pool) {
    PoolState state = states.get(pool);
    waiting.removeIf(w -> {
      if (!w.pool().equals(pool) || w.version() > state.version()) return false;
      w.replyTo().tell(Done.getInstance());
      return true;
    });
  }

  private static PoolSettings emptied(PoolState last) {
    PoolSettings pool = last.pool();
    return new PoolSettings(pool.name(), pool.strategy(), List.of(), pool.healthCheck());
  }
}
