package dev.fulcrum.routing;

import dev.fulcrum.backend.BackendActor;
import dev.fulcrum.backend.Health;
import dev.fulcrum.backend.HealthProbes;
import dev.fulcrum.observe.Observability;
import dev.fulcrum.config.BackendSettings;
import dev.fulcrum.config.HostPort;
import dev.fulcrum.config.OutlierSettings;
import dev.fulcrum.config.PoolSettings;
import dev.fulcrum.events.FulcrumEvent;
import dev.fulcrum.events.FulcrumEvents;
import java.time.Instant;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * One per pool on every node. Follows the pool's definition, supervises a {@link BackendActor} per backend, merges the
 * definition with the local health view, and publishes a new immutable {@link RoutingTable} whenever either changes.
 * It is the only writer of the pool's table and never sits on the request path.
 */
public final class PoolRouter extends AbstractBehavior<PoolRouter.Command> {

  public sealed interface Command {}

  /** The pool's definition changed (or is given for the first time). */
  public record Configure(PoolSettings pool) implements Command {}

  public record GetStatus(ActorRef<PoolStatus> replyTo) implements Command {}

  private record HealthChanged(BackendActor.Transition transition) implements Command {}

  private record RampStep() implements Command {}

  /** The pool's TLS to its backends, loaded off the actor (it reads files): {@code tls} or why it cannot be used. */
  private record TlsLoaded(dev.fulcrum.config.BackendTlsSettings settings, dev.fulcrum.tls.BackendTls tls, String error)
      implements Command {}

  /** The data plane saw the backend fail often enough in a row to be ejected (sent by its {@link OutlierDetector}). */
  private record Eject(HostPort address, BackendStats stats, String reason) implements Command {}

  /** An ejection's time is up. */
  private record Return(HostPort address, long ejection) implements Command {}

  private static final class Member {
    final ActorRef<BackendActor.Command> actor;
    final BackendStats stats;
    BackendSettings settings;
    Health health = Health.UNKNOWN;
    /** Times ejected lately: each ejection lasts this many base times. */
    int ejections;
    /** Which ejection is under way (matches its {@link Return}), or 0 while routed. */
    long ejection;
    long returnedAt;

    Member(ActorRef<BackendActor.Command> actor, BackendStats stats, BackendSettings settings) {
      this.actor = actor;
      this.stats = stats;
      this.settings = settings;
    }
  }

  private final TableRef table;
  private final FulcrumEvents events;
  private final HealthProbes probes;
  private final ActorRef<BackendActor.Transition> transitions;
  private final Map<HostPort, Member> members = new LinkedHashMap<>();
  private final PoolLoad load = new PoolLoad();
  private final SlowStart slowStart = new SlowStart();
  /**
   * The TLS the pool's backends are reached with now (null: plain), read by backend actors as they start; it follows the
   * definition's {@code tls} once that is loaded.
   */
  private final java.util.concurrent.atomic.AtomicReference<dev.fulcrum.tls.BackendTls> tls =
      new java.util.concurrent.atomic.AtomicReference<>();
  /** The settings {@link #tls} was loaded from (empty: plain); null before the first definition. */
  private java.util.Optional<dev.fulcrum.config.BackendTlsSettings> tlsSettings;
  /**
   * False while the definition asks for TLS this node has not loaded (yet, or its files cannot be used here): the table
   * is then empty, since connecting in plain text, or with TLS settings the user replaced, would be wrong.
   */
  private boolean tlsReady = true;
  private Cancellable nextRampStep;
  private PoolSettings pool;
  private long version;
  private long spawned;
  private long ejectionSeq;

  public static Behavior<Command> create(PoolSettings pool, RoutingTables tables, HealthProbes probes) {
    return Behaviors.setup(ctx -> new PoolRouter(ctx, pool, tables.of(pool.name()), probes));
  }

  private PoolRouter(ActorContext<Command> ctx, PoolSettings pool, TableRef table, HealthProbes probes) {
    super(ctx);
    this.table = table;
    this.events = FulcrumEvents.get(ctx.getSystem());
    this.probes = probes;
    this.transitions = ctx.messageAdapter(BackendActor.Transition.class, HealthChanged::new);
    this.pool = pool;
    reconcile(pool);
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Configure.class, c -> {
          reconcile(c.pool());
          return this;
        })
        .onMessage(HealthChanged.class, this::onHealthChanged)
        .onMessage(GetStatus.class, this::onGetStatus)
        .onMessage(RampStep.class, r -> {
          publish();
          return this;
        })
        .onMessage(TlsLoaded.class, this::onTlsLoaded)
        .onMessage(Eject.class, this::onEject)
        .onMessage(Return.class, this::onReturn)
        .build();
  }

  private void reconcile(PoolSettings next) {
    followTls(next);
    Set<HostPort> wanted = new HashSet<>();
    for (BackendSettings backend : next.backends()) {
      wanted.add(backend.address());
      Member member = members.get(backend.address());
      if (member == null) {
        members.put(backend.address(), spawn(next, backend));
      } else {
        member.settings = backend;
        if (!next.healthCheck().equals(pool.healthCheck())) {
          member.actor.tell(new BackendActor.UpdateCheck(next.healthCheck()));
        }
      }
    }
    members.forEach((address, member) -> member.stats.outliers().configure(next.strategySettings().outliers(),
        reason -> getContext().getSelf().tell(new Eject(address, member.stats, reason))));
    members.entrySet().removeIf(e -> {
      if (wanted.contains(e.getKey())) return false;
      getContext().stop(e.getValue().actor);
      return true;
    });
    // Keep the definition's order so that strategies see backends in the order the user wrote them.
    Map<HostPort, Member> ordered = new LinkedHashMap<>();
    next.backends().forEach(b -> ordered.put(b.address(), members.get(b.address())));
    members.clear();
    members.putAll(ordered);
    pool = next;
    publish();
  }

  private void followTls(PoolSettings next) {
    if (next.tls().equals(tlsSettings)) return;
    tlsSettings = next.tls();
    if (next.tls().isEmpty()) {
      useTls(null, true);
      return;
    }
    dev.fulcrum.config.BackendTlsSettings wanted = next.tls().get();
    dev.fulcrum.tls.BackendTls cached = dev.fulcrum.tls.BackendTls.loaded(wanted);
    if (cached != null) {
      useTls(cached, true);
      return;
    }
    tlsReady = false;
    java.util.concurrent.Executor blocking =
        getContext().getSystem().dispatchers().lookup(org.apache.pekko.actor.typed.DispatcherSelector.blocking());
    getContext().pipeToSelf(java.util.concurrent.CompletableFuture.supplyAsync(() -> {
      try {
        return dev.fulcrum.tls.BackendTls.of(wanted);
      } catch (dev.fulcrum.tls.TlsException e) {
        throw new java.util.concurrent.CompletionException(e);
      }
    }, blocking), (loaded, failure) -> new TlsLoaded(wanted, loaded, failure == null ? null
        : (failure.getCause() != null ? failure.getCause() : failure).getMessage()));
  }

  private Behavior<Command> onTlsLoaded(TlsLoaded loaded) {
    if (tlsSettings == null || !tlsSettings.equals(java.util.Optional.of(loaded.settings()))) return this; // replaced since
    if (loaded.error() != null) {
      getContext().getLog().error("pool {}: its backends get no traffic from this node: tls.{}", pool.name(), loaded.error());
      useTls(null, false);
    } else {
      useTls(loaded.tls(), true);
    }
    publish();
    return this;
  }

  private void useTls(dev.fulcrum.tls.BackendTls next, boolean ready) {
    tlsReady = ready;
    tls.set(next);
    members.values().forEach(m -> m.actor.tell(new BackendActor.UpdateTls(next)));
  }

  private Member spawn(PoolSettings next, BackendSettings backend) {
    BackendStats stats = new BackendStats(load);
    Behavior<BackendActor.Command> behavior =
        Behaviors.supervise(BackendActor.create(next.name(), backend.address(), next.healthCheck(), stats, transitions, probes, tls::get))
            .onFailure(SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(10), 0.2));
    String name = "backend-" + (++spawned) + "-" + URLEncoder.encode(backend.address().toString(), StandardCharsets.UTF_8);
    return new Member(getContext().spawn(behavior, name), stats, backend);
  }

  private Behavior<Command> onHealthChanged(HealthChanged changed) {
    BackendActor.Transition t = changed.transition();
    Member member = members.get(t.address());
    if (member != null && member.actor.equals(t.backend()) && member.health != t.health()) {
      Observability.get(getContext().getSystem()).healthTransition(pool.name(), t.address(), member.health.name(), t.health().name(), t.reason());
      Health from = member.health;
      member.health = t.health();
      publish();
      // after the new table: a subscriber that reacts sees this node route by it
      events.publish(new FulcrumEvent.BackendHealthChanged(pool.name(), t.address(), from, t.health(), t.reason(), Instant.now()));
    }
    return this;
  }

  /**
   * Ejects the backend for base-ejection-time x its recent ejections, unless that would take more than
   * max-ejection-percent of the pool (at least one backend, never the last one routed) out of this node's routing.
   */
  private Behavior<Command> onEject(Eject eject) {
    Member member = members.get(eject.address());
    if (member == null || member.stats != eject.stats() || member.ejection != 0) return this;
    OutlierSettings settings = pool.strategySettings().outliers();
    long ejected = members.values().stream().filter(m -> m.ejection != 0).count();
    long routed = members.values().stream().filter(m -> m.ejection == 0 && m.health != Health.DOWN).count();
    long allowed = Math.max(1, members.size() * settings.maxEjectionPercent() / 100);
    if (settings.maxEjectionPercent() == 0 || ejected >= allowed || routed <= 1) {
      getContext().getLog().warn("pool {} backend {} not ejected ({} of {} already, max-ejection-percent {}): {}",
          pool.name(), eject.address(), ejected, members.size(), settings.maxEjectionPercent(), eject.reason());
      Observability.get(getContext().getSystem()).ejection(pool.name(), eject.address(), eject.reason(), false);
      member.stats.outliers().reset();
      return this;
    }
    long now = System.nanoTime();
    // a backend that stayed in for the longest ejection since its last return starts over at the base time
    if (member.returnedAt != 0 && now - member.returnedAt > settings.maxEjectionTime().toNanos()) member.ejections = 0;
    member.ejections++;
    Duration time = settings.baseEjectionTime().multipliedBy(member.ejections);
    if (time.compareTo(settings.maxEjectionTime()) > 0) time = settings.maxEjectionTime();
    member.ejection = ++ejectionSeq;
    getContext().getLog().warn("pool {} backend {} is ejected for {} ms: {}", pool.name(), eject.address(),
        time.toMillis(), eject.reason());
    Observability.get(getContext().getSystem()).ejection(pool.name(), eject.address(), eject.reason(), true);
    getContext().scheduleOnce(time, getContext().getSelf(), new Return(eject.address(), member.ejection));
    publish();
    events.publish(new FulcrumEvent.BackendEjected(pool.name(), eject.address(), time, eject.reason(), Instant.now()));
    return this;
  }

  private Behavior<Command> onReturn(Return back) {
    Member member = members.get(back.address());
    if (member == null || member.ejection != back.ejection()) return this;
    member.ejection = 0;
    member.returnedAt = System.nanoTime();
    member.stats.outliers().reset();
    getContext().getLog().info("pool {} backend {} returns from its ejection", pool.name(), back.address());
    publish();
    events.publish(new FulcrumEvent.BackendReturned(pool.name(), back.address(), Instant.now()));
    return this;
  }

  private Behavior<Command> onGetStatus(GetStatus get) {
    List<PoolStatus.Backend> backends = new ArrayList<>();
    members.forEach((address, m) -> backends.add(new PoolStatus.Backend(
        address, m.settings.weight(), m.ejection != 0 ? Health.EJECTED : m.health, m.stats.activeConnections())));
    get.replyTo().tell(new PoolStatus(pool.name(), version, backends));
    return this;
  }

  private void publish() {
    List<RoutedBackend> eligible = new ArrayList<>();
    dev.fulcrum.tls.BackendTls backendTls = tls.get();
    members.forEach((address, m) -> {
      if (tlsReady && m.health != Health.DOWN && m.ejection == 0 && m.settings.weight() > 0
          && m.settings.admin() == BackendSettings.Admin.ACTIVE) {
        eligible.add(new RoutedBackend(address, m.settings.weight(), m.stats, m.actor, backendTls));
      }
    });
    RoutedBackend[] backends = eligible.toArray(new RoutedBackend[0]);
    long now = System.nanoTime();
    Duration window = pool.strategySettings().slowStart();
    int[] weights = slowStart.weights(backends, window, pool.strategy().rampsWeights(), now);
    Strategy strategy = pool.strategy().build(backends, weights, pool.strategySettings(), table.current().strategy());
    table.publish(
        new RoutingTable(pool.name(), ++version, backends, weights, strategy, pool.strategySettings().hashKey(),
            pool.protocol()));
    if (nextRampStep != null) nextRampStep.cancel();
    nextRampStep = slowStart.untilNextStep(window, now)
        .map(delay -> getContext().scheduleOnce(delay, getContext().getSelf(), new RampStep()))
        .orElse(null);
  }
}
