package dev.fulcrum.pool;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import dev.fulcrum.CborSerializable;
import dev.fulcrum.config.BackendSettings;
import dev.fulcrum.config.HealthCheckSettings;
import dev.fulcrum.config.HostPort;
import dev.fulcrum.config.JournalSettings;
import dev.fulcrum.config.PoolSettings;
import dev.fulcrum.config.SettingsParser;
import dev.fulcrum.routing.StrategyKind;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.persistence.query.javadsl.CurrentEventsByPersistenceIdQuery;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.Effect;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;
import org.apache.pekko.stream.javadsl.Sink;

/**
 * One pool's definition, event-sourced: the only place where a pool changes. The entity id is the pool name. Every
 * accepted command persists its events, then tells the {@link PoolStatePublisher}, then replies {@link Ok} with the
 * new state; a rejected command persists nothing and replies {@link Rejected} with the reason. A command that would
 * change nothing (draining a draining backend) replies {@code Ok} and persists nothing.
 *
 * <p>This protocol is the public Java API: get an {@code EntityRef<PoolEntity.Command>} from
 * {@code Fulcrum.pool(name)} and {@code ask} it. The admin HTTP API is a translation onto the same messages.
 */
public final class PoolEntity extends EventSourcedBehavior<PoolEntity.Command, PoolEvent, PoolState> {

  public static final EntityTypeKey<Command> TYPE_KEY = EntityTypeKey.create(Command.class, "Pool");

  /** The most events one {@link GetHistory} returns; page with {@code fromSeq}. */
  public static final int MAX_HISTORY = 1000;

  /** The origin recorded for commands that name none. */
  public static final String JAVA_API = "java-api";

  public static PersistenceId persistenceId(String pool) {
    return PersistenceId.of(TYPE_KEY.name(), pool);
  }

  // ---- commands ---------------------------------------------------------------------------------------------------

  /** Everything a pool entity understands. {@code origin} says where a change came from and is kept in its event. */
  public sealed interface Command extends CborSerializable {}

  /** Creates the pool. An empty {@code healthCheck} takes {@code fulcrum.health-check}. Rejected if it exists. */
  public record Create(
      StrategyKind strategy,
      List<BackendSettings> backends,
      Optional<HealthCheckSettings> healthCheck,
      String origin,
      ActorRef<Reply> replyTo)
      implements Command {
    public Create {
      backends = List.copyOf(backends);
    }

    public Create(StrategyKind strategy, List<BackendSettings> backends, ActorRef<Reply> replyTo) {
      this(strategy, backends, Optional.empty(), JAVA_API, replyTo);
    }
  }

  /** Deletes the pool; its routers stop. Its history stays, and the name can be created again. */
  public record Delete(String origin, ActorRef<Reply> replyTo) implements Command {
    public Delete(ActorRef<Reply> replyTo) {
      this(JAVA_API, replyTo);
    }
  }

  /** Adds a backend with a weight in 0-{@value BackendSettings#MAX_WEIGHT}; rejected if the address is in the pool. */
  public record AddBackend(HostPort address, int weight, String origin, ActorRef<Reply> replyTo) implements Command {
    public AddBackend(HostPort address, int weight, ActorRef<Reply> replyTo) {
      this(address, weight, JAVA_API, replyTo);
    }
  }

  /** Removes a backend: it gets no new work at once; open connections to it are not cut. */
  public record RemoveBackend(HostPort address, String origin, ActorRef<Reply> replyTo) implements Command {
    public RemoveBackend(HostPort address, ActorRef<Reply> replyTo) {
      this(address, JAVA_API, replyTo);
    }
  }

  public record SetWeight(HostPort address, int weight, String origin, ActorRef<Reply> replyTo) implements Command {
    public SetWeight(HostPort address, int weight, ActorRef<Reply> replyTo) {
      this(address, weight, JAVA_API, replyTo);
    }
  }

  /** The backend gets no new connections or requests; open ones finish. */
  public record Drain(HostPort address, String origin, ActorRef<Reply> replyTo) implements Command {
    public Drain(HostPort address, ActorRef<Reply> replyTo) {
      this(address, JAVA_API, replyTo);
    }
  }

  /** The backend takes new work again. */
  public record Undrain(HostPort address, String origin, ActorRef<Reply> replyTo) implements Command {
    public Undrain(HostPort address, ActorRef<Reply> replyTo) {
      this(address, JAVA_API, replyTo);
    }
  }

  public record SetStrategy(StrategyKind strategy, String origin, ActorRef<Reply> replyTo) implements Command {
    public SetStrategy(StrategyKind strategy, ActorRef<Reply> replyTo) {
      this(strategy, JAVA_API, replyTo);
    }
  }

  public record SetHealthCheck(HealthCheckSettings healthCheck, String origin, ActorRef<Reply> replyTo) implements Command {
    public SetHealthCheck(HealthCheckSettings healthCheck, ActorRef<Reply> replyTo) {
      this(healthCheck, JAVA_API, replyTo);
    }
  }

  /** Replies the current state, whether or not the pool exists ({@link PoolState#exists()}). */
  public record GetState(ActorRef<PoolState> replyTo) implements Command {}

  /** Replies where this entity runs now (its node's cluster address), for the cluster view. */
  public record GetLocation(ActorRef<Location> replyTo) implements Command {}

  /**
   * Replies the journaled events from sequence number {@code fromSeq} on (at most {@value #MAX_HISTORY}), or
   * {@link Rejected} when the pool never existed.
   */
  public record GetHistory(long fromSeq, ActorRef<HistoryReply> replyTo) implements Command {}

  /**
   * Start-up: creates the pool from its config when it has no journal yet. When it has one, the journaled state stays
   * and the differences are reported, or, with {@code applyConfig}, persisted as events with origin "config".
   */
  public record Bootstrap(PoolSettings config, boolean applyConfig, ActorRef<BootstrapResult> replyTo) implements Command {}

  // ---- replies ----------------------------------------------------------------------------------------------------

  public sealed interface Reply extends CborSerializable {}

  public sealed interface HistoryReply extends CborSerializable {}

  /** The command was accepted; {@code state} includes its change. */
  public record Ok(PoolState state) implements Reply {}

  /** The command was refused and nothing changed. */
  public record Rejected(Reason reason, String message) implements Reply, HistoryReply {}

  public enum Reason {
    NO_SUCH_POOL,
    NO_SUCH_BACKEND,
    ALREADY_EXISTS,
    INVALID,
    UNAVAILABLE
  }

  public record History(List<Entry> events) implements HistoryReply {
    public History {
      events = List.copyOf(events);
    }
  }

  /** @param node the cluster address of the node that runs the pool's entity */
  public record Location(String pool, String node) implements CborSerializable {}

  /** One journaled event and its sequence number (which is the pool's version right after it). */
  public record Entry(
      long seq,
      // Replies cross nodes when the entity runs elsewhere: the event's class must travel with it.
      @JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "type")
      @JsonSubTypes({
        @JsonSubTypes.Type(PoolEvent.PoolCreated.class),
        @JsonSubTypes.Type(PoolEvent.PoolDeleted.class),
        @JsonSubTypes.Type(PoolEvent.BackendAdded.class),
        @JsonSubTypes.Type(PoolEvent.BackendRemoved.class),
        @JsonSubTypes.Type(PoolEvent.WeightChanged.class),
        @JsonSubTypes.Type(PoolEvent.DrainStarted.class),
        @JsonSubTypes.Type(PoolEvent.DrainStopped.class),
        @JsonSubTypes.Type(PoolEvent.StrategyChanged.class),
        @JsonSubTypes.Type(PoolEvent.HealthCheckChanged.class)
      })
      PoolEvent event)
      implements CborSerializable {}

  /**
   * @param created the pool was created from config now
   * @param differences how the journal differs from the config (empty when it does not)
   * @param applied the differences were persisted as events (bootstrap mode "config")
   */
  public record BootstrapResult(PoolState state, boolean created, List<String> differences, boolean applied)
      implements CborSerializable {
    public BootstrapResult {
      differences = List.copyOf(differences);
    }
  }

  // ---- behavior ---------------------------------------------------------------------------------------------------

  private final String pool;
  private final JournalSettings settings;
  private final PoolStatePublisher publisher;
  private final ActorSystem<?> system;
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(PoolEntity.class);

  /** The behavior of the entity for {@code pool}; run it under Cluster Sharding with {@link #TYPE_KEY}. */
  public static Behavior<Command> create(String pool, JournalSettings settings, PoolStatePublisher publisher) {
    return Behaviors.setup(ctx -> new PoolEntity(pool, settings, publisher, ctx.getSystem()));
  }

  private PoolEntity(String pool, JournalSettings settings, PoolStatePublisher publisher, ActorSystem<?> system) {
    // A journal that is briefly unreachable (a database restart) must not leave the pool stopped.
    super(persistenceId(pool), SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.2));
    this.pool = pool;
    this.settings = settings;
    this.publisher = publisher;
    this.system = system;
  }

  @Override
  public PoolState emptyState() {
    return PoolState.empty(pool);
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    // Events are never deleted: they are the pool's history.
    return RetentionCriteria.snapshotEvery(settings.snapshotEvery(), 2);
  }

  @Override
  public EventHandler<PoolState, PoolEvent> eventHandler() {
    return PoolState::apply;
  }

  @Override
  public SignalHandler<PoolState> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(RecoveryCompleted.instance(), state -> {
          // Where a pool's entity runs matters when a node is lost: the log tells where it started again.
          if (state.version() > 0) {
            log.info("pool {} entity running on this node, recovered at version {}", pool, state.version());
            publisher.publish(state);
          }
        })
        .build();
  }

  @Override
  public CommandHandler<Command, PoolEvent, PoolState> commandHandler() {
    return (state, command) -> {
      if (command instanceof GetState c) return Effect().reply(c.replyTo(), state);
      if (command instanceof GetHistory c) return history(state, c);
      if (command instanceof GetLocation c) {
        return Effect().reply(c.replyTo(), new Location(pool, Cluster.get(system).selfMember().address().toString()));
      }
      if (command instanceof Bootstrap c) return bootstrap(state, c);
      if (command instanceof Create c) return create(state, c);
      if (command instanceof Delete c) {
        return whenExists(state, c.replyTo(), p -> persist(new PoolEvent.PoolDeleted(Instant.now(), c.origin()), c.replyTo()));
      }
      if (command instanceof AddBackend c) return addBackend(state, c);
      if (command instanceof RemoveBackend c) {
        return withBackend(state, c.address(), c.replyTo(), b -> persist(new PoolEvent.BackendRemoved(c.address(), Instant.now(), c.origin()), c.replyTo()));
      }
      if (command instanceof SetWeight c) {
        Optional<String> bad = weightProblem(c.weight());
        if (bad.isPresent()) return reject(c.replyTo(), Reason.INVALID, bad.get());
        return withBackend(state, c.address(), c.replyTo(), b -> b.weight() == c.weight()
            ? unchanged(state, c.replyTo())
            : persist(new PoolEvent.WeightChanged(c.address(), c.weight(), Instant.now(), c.origin()), c.replyTo()));
      }
      if (command instanceof Drain c) {
        return withBackend(state, c.address(), c.replyTo(), b -> b.admin() == BackendSettings.Admin.DRAINING
            ? unchanged(state, c.replyTo())
            : persist(new PoolEvent.DrainStarted(c.address(), Instant.now(), c.origin()), c.replyTo()));
      }
      if (command instanceof Undrain c) {
        return withBackend(state, c.address(), c.replyTo(), b -> b.admin() == BackendSettings.Admin.ACTIVE
            ? unchanged(state, c.replyTo())
            : persist(new PoolEvent.DrainStopped(c.address(), Instant.now(), c.origin()), c.replyTo()));
      }
      if (command instanceof SetStrategy c) {
        if (c.strategy() == null) return reject(c.replyTo(), Reason.INVALID, "strategy is missing");
        return whenExists(state, c.replyTo(), p -> p.strategy() == c.strategy()
            ? unchanged(state, c.replyTo())
            : persist(new PoolEvent.StrategyChanged(c.strategy(), Instant.now(), c.origin()), c.replyTo()));
      }
      if (command instanceof SetHealthCheck c) {
        Optional<String> bad = healthCheckProblem(c.healthCheck());
        if (bad.isPresent()) return reject(c.replyTo(), Reason.INVALID, bad.get());
        return whenExists(state, c.replyTo(), p -> p.healthCheck().equals(c.healthCheck())
            ? unchanged(state, c.replyTo())
            : persist(new PoolEvent.HealthCheckChanged(c.healthCheck(), Instant.now(), c.origin()), c.replyTo()));
      }
      throw new IllegalArgumentException("unknown command " + command);
    };
  }

  private Effect<PoolEvent, PoolState> create(PoolState state, Create c) {
    if (state.exists()) return reject(c.replyTo(), Reason.ALREADY_EXISTS, "pool '" + pool + "' already exists");
    try {
      SettingsParser.checkName(pool);
    } catch (IllegalArgumentException e) {
      return reject(c.replyTo(), Reason.INVALID, "name: " + e.getMessage());
    }
    if (c.strategy() == null) return reject(c.replyTo(), Reason.INVALID, "strategy is missing");
    Set<HostPort> seen = new HashSet<>();
    for (BackendSettings b : c.backends()) {
      if (!seen.add(b.address())) return reject(c.replyTo(), Reason.INVALID, "backends: duplicate backend " + b.address());
      Optional<String> bad = weightProblem(b.weight());
      if (bad.isPresent()) return reject(c.replyTo(), Reason.INVALID, "backend " + b.address() + ": " + bad.get());
    }
    HealthCheckSettings healthCheck = c.healthCheck().orElse(settings.defaultHealthCheck());
    Optional<String> bad = healthCheckProblem(healthCheck);
    if (bad.isPresent()) return reject(c.replyTo(), Reason.INVALID, bad.get());
    PoolSettings definition = new PoolSettings(pool, c.strategy(), c.backends(), healthCheck);
    return persist(new PoolEvent.PoolCreated(definition, Instant.now(), c.origin()), c.replyTo());
  }

  private Effect<PoolEvent, PoolState> addBackend(PoolState state, AddBackend c) {
    Optional<String> bad = weightProblem(c.weight());
    if (bad.isPresent()) return reject(c.replyTo(), Reason.INVALID, bad.get());
    return whenExists(state, c.replyTo(), p -> state.backend(c.address()).isPresent()
        ? reject(c.replyTo(), Reason.ALREADY_EXISTS, "backend " + c.address() + " is already in pool '" + pool + "'")
        : persist(new PoolEvent.BackendAdded(c.address(), c.weight(), Instant.now(), c.origin()), c.replyTo()));
  }

  private Effect<PoolEvent, PoolState> bootstrap(PoolState state, Bootstrap c) {
    if (state.version() == 0) {
      return Effect().persist(new PoolEvent.PoolCreated(c.config(), Instant.now(), PoolDiff.ORIGIN))
          .thenRun(publisher::publish)
          .thenReply(c.replyTo(), s -> new BootstrapResult(s, true, List.of(), false));
    }
    PoolDiff diff = PoolDiff.between(state, c.config(), Instant.now());
    if (!c.applyConfig() || diff.events().isEmpty()) {
      return Effect().reply(c.replyTo(), new BootstrapResult(state, false, diff.descriptions(), false));
    }
    return Effect().persist(diff.events())
        .thenRun(publisher::publish)
        .thenReply(c.replyTo(), s -> new BootstrapResult(s, false, diff.descriptions(), true));
  }

  private Effect<PoolEvent, PoolState> history(PoolState state, GetHistory c) {
    if (state.version() == 0) return reject(c.replyTo(), Reason.NO_SUCH_POOL, "no pool '" + pool + "'");
    CurrentEventsByPersistenceIdQuery journal =
        PersistenceQuery.get(system).getReadJournalFor(CurrentEventsByPersistenceIdQuery.class, settings.readJournal());
    journal.currentEventsByPersistenceId(persistenceId().id(), Math.max(1, c.fromSeq()), Long.MAX_VALUE)
        .take(MAX_HISTORY)
        .map(e -> new Entry(e.sequenceNr(), (PoolEvent) e.event()))
        .runWith(Sink.seq(), system)
        .whenComplete((entries, failure) -> c.replyTo().tell(failure == null
            ? new History(entries)
            : new Rejected(Reason.UNAVAILABLE, "cannot read the journal: " + failure.getMessage())));
    return Effect().none();
  }

  private Effect<PoolEvent, PoolState> persist(PoolEvent event, ActorRef<Reply> replyTo) {
    return Effect().persist(event).thenRun(publisher::publish).thenReply(replyTo, Ok::new);
  }

  private Effect<PoolEvent, PoolState> unchanged(PoolState state, ActorRef<Reply> replyTo) {
    return Effect().reply(replyTo, new Ok(state));
  }

  private Effect<PoolEvent, PoolState> reject(ActorRef<? super Rejected> replyTo, Reason reason, String message) {
    return Effect().reply(replyTo, new Rejected(reason, message));
  }

  private Effect<PoolEvent, PoolState> whenExists(
      PoolState state, ActorRef<Reply> replyTo, Function<PoolSettings, Effect<PoolEvent, PoolState>> then) {
    if (!state.exists()) return reject(replyTo, Reason.NO_SUCH_POOL, "no pool '" + pool + "'");
    return then.apply(state.pool());
  }

  private Effect<PoolEvent, PoolState> withBackend(
      PoolState state, HostPort address, ActorRef<Reply> replyTo,
      Function<BackendSettings, Effect<PoolEvent, PoolState>> then) {
    return whenExists(state, replyTo, p -> state.backend(address)
        .map(then)
        .orElseGet(() -> reject(replyTo, Reason.NO_SUCH_BACKEND, "no backend " + address + " in pool '" + pool + "'")));
  }

  private static Optional<String> weightProblem(int weight) {
    return weight < 0 || weight > BackendSettings.MAX_WEIGHT
        ? Optional.of("weight " + weight + " is outside 0-" + BackendSettings.MAX_WEIGHT)
        : Optional.empty();
  }

  private static Optional<String> healthCheckProblem(HealthCheckSettings hc) {
    if (hc == null) return Optional.of("healthCheck is missing");
    if (hc.kind() == null) return Optional.of("healthCheck.kind is missing");
    if (hc.path() == null || !hc.path().startsWith("/")) return Optional.of("healthCheck.path must start with '/'");
    if (hc.expectStatus() < 100 || hc.expectStatus() > 599) return Optional.of("healthCheck.expectStatus is outside 100-599");
    if (hc.interval() == null || hc.interval().isNegative() || hc.interval().isZero()) return Optional.of("healthCheck.interval must be positive");
    if (hc.timeout() == null || hc.timeout().isNegative() || hc.timeout().isZero()) return Optional.of("healthCheck.timeout must be positive");
    if (hc.rise() < 1 || hc.rise() > 100) return Optional.of("healthCheck.rise is outside 1-100");
    if (hc.fall() < 1 || hc.fall() > 100) return Optional.of("healthCheck.fall is outside 1-100");
    return Optional.empty();
  }
}
