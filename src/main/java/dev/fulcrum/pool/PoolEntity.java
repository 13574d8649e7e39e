package dev.fulcrum.pool;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import dev.fulcrum.CborSerializable;
import dev.fulcrum.config.BackendSettings;
import dev.fulcrum.config.BackendProtocol;
import dev.fulcrum.config.BackendTlsSettings;
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
import java.util.Objects;
import java.util.concurrent.CompletionStage;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.persistence.query.javadsl.CurrentEventsByPersistenceIdQuery;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.JournalPersistFailed;
import org.apache.pekko.persistence.typed.JournalPersistRejected;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;
import org.apache.pekko.stream.javadsl.Sink;

/**
 * One pool's definition, event-sourced: the only place where a pool changes. The entity id is the pool name. Every
 * accepted change persists its event, then tells the {@link PoolStatePublisher}, then replies {@link Ok} with the
 * new state; a refused change persists nothing and replies {@link Rejected} with the reason, also when its caller's
 * deadline passed before its turn came; a change whose write the journal did not confirm replies
 * {@link OutcomeUnknown}. A change that would change nothing (draining a draining backend), or that carries an
 * idempotency key the pool applied recently, replies {@code Ok} and persists nothing.
 *
 * <p>This protocol is the public Java API: get an {@code EntityRef<PoolEntity.Command>} from
 * {@code Fulcrum.pool(name)} and {@code ask} it. The admin HTTP API is a translation onto the same messages.
 */
public final class PoolEntity extends EventSourcedBehaviorWithEnforcedReplies<PoolEntity.Command, PoolEvent, PoolState> {

  public static final EntityTypeKey<Command> TYPE_KEY = EntityTypeKey.create(Command.class, "Pool");

  /** The most events one {@link GetHistory} returns; page with {@code fromSeq}. */
  public static final int MAX_HISTORY = 1000;

  /** The origin recorded for commands that name none. */
  public static final String JAVA_API = "java-api";

  public static PersistenceId persistenceId(String pool) {
    return PersistenceId.of(TYPE_KEY.name(), pool);
  }

  // ---- commands ---------------------------------------------------------------------------------------------------

  /** Everything a pool entity understands. */
  public sealed interface Command extends CborSerializable {}

  /**
   * A command that changes the pool. Its {@link Request} says where it came from, until when the caller waits (a change
   * whose turn comes later is refused, never persisted) and, optionally, its idempotency key.
   */
  public sealed interface Change extends Command {
    Request request();

    ActorRef<Reply> replyTo();
  }

  /**
   * Who asks for a change and on what terms.
   *
   * @param origin where the change comes from, kept in its event ("admin-api 127.0.0.1", "java-api")
   * @param deadline the caller's deadline (wall clock, so it means the same on every node): a change whose turn comes
   *     after it is refused with {@link Reason#EXPIRED} and nothing is persisted, wherever it waited (the sharding
   *     buffers while the entity moves, the entity's stash while its journal is down)
   * @param idempotencyKey when present, a change with a key the pool applied recently is not applied again: it replies
   *     {@link Ok} with the current state. At most {@value #MAX_KEY_LENGTH} printable ASCII characters.
   * @param startedTo told {@link Started} just before the change is written to the journal, so a caller whose answer
   *     never comes can tell "never started" from "outcome unknown" (see {@link PoolControl#change})
   */
  public record Request(String origin, Instant deadline, Optional<String> idempotencyKey, Optional<ActorRef<Started>> startedTo)
      implements CborSerializable {

    public Request {
      Objects.requireNonNull(origin, "origin");
      Objects.requireNonNull(deadline, "deadline");
      idempotencyKey = idempotencyKey == null ? Optional.empty() : idempotencyKey;
      startedTo = startedTo == null ? Optional.empty() : startedTo;
    }

    /** A request from {@code origin} that may wait {@code timeout} from now for its turn. */
    public static Request of(String origin, Duration timeout) {
      return new Request(origin, Instant.now().plus(timeout), Optional.empty(), Optional.empty());
    }

    /** A request of the Java API waiting at most {@link #DEFAULT_TIMEOUT} for its turn. */
    public static Request javaApi() {
      return of(JAVA_API, DEFAULT_TIMEOUT);
    }

    public Request withIdempotencyKey(String key) {
      return new Request(origin, deadline, Optional.of(key), startedTo);
    }

    public Request withStartedTo(ActorRef<Started> ref) {
      return new Request(origin, deadline, idempotencyKey, Optional.of(ref));
    }

    /** Why the key cannot be used, if it cannot. */
    public static Optional<String> keyProblem(String key) {
      if (key.isEmpty() || key.length() > MAX_KEY_LENGTH) {
        return Optional.of("the idempotency key must have 1-" + MAX_KEY_LENGTH + " characters, it has " + key.length());
      }
      if (!key.chars().allMatch(ch -> ch > 0x20 && ch < 0x7f)) {
        return Optional.of("the idempotency key may hold printable ASCII characters only, without spaces");
      }
      return Optional.empty();
    }
  }

  /** The longest idempotency key accepted. */
  public static final int MAX_KEY_LENGTH = 100;

  /** How long a change sent with a constructor that takes no {@link Request} may wait for its turn. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(5);

  /** Sent to {@link Request#startedTo()} just before the change is written to the journal. */
  public record Started(String pool) implements CborSerializable {}

  /**
   * Creates the pool. An empty {@code healthCheck} takes {@code fulcrum.health-check}; an empty {@code tls} means plain
   * connections to the backends, a null {@code protocol} HTTP/1.1 on them. Rejected if it exists.
   */
  public record Create(
      StrategyKind strategy,
      List<BackendSettings> backends,
      Optional<HealthCheckSettings> healthCheck,
      Optional<BackendTlsSettings> tls,
      BackendProtocol protocol,
      Request request,
      ActorRef<Reply> replyTo)
      implements Change {
    public Create {
      backends = List.copyOf(backends);
      tls = tls == null ? Optional.empty() : tls;
      protocol = protocol == null ? BackendProtocol.HTTP_1_1 : protocol;
    }

    public Create(StrategyKind strategy, List<BackendSettings> backends, Optional<HealthCheckSettings> healthCheck,
        Optional<BackendTlsSettings> tls, Request request, ActorRef<Reply> replyTo) {
      this(strategy, backends, healthCheck, tls, null, request, replyTo);
    }

    public Create(StrategyKind strategy, List<BackendSettings> backends, Optional<HealthCheckSettings> healthCheck,
        Request request, ActorRef<Reply> replyTo) {
      this(strategy, backends, healthCheck, Optional.empty(), request, replyTo);
    }

    public Create(StrategyKind strategy, List<BackendSettings> backends, Optional<HealthCheckSettings> healthCheck, String origin, ActorRef<Reply> replyTo) {
      this(strategy, backends, healthCheck, Request.of(origin, DEFAULT_TIMEOUT), replyTo);
    }

    public Create(StrategyKind strategy, List<BackendSettings> backends, ActorRef<Reply> replyTo) {
      this(strategy, backends, Optional.empty(), Request.javaApi(), replyTo);
    }
  }

  /** Deletes the pool; its routers stop. Its history stays, and the name can be created again. */
  public record Delete(Request request, ActorRef<Reply> replyTo) implements Change {
    public Delete(ActorRef<Reply> replyTo) {
      this(Request.javaApi(), replyTo);
    }
  }

  /** Adds a backend with a weight in 0-{@value BackendSettings#MAX_WEIGHT}; rejected if the address is in the pool. */
  public record AddBackend(HostPort address, int weight, Request request, ActorRef<Reply> replyTo) implements Change {
    public AddBackend(HostPort address, int weight, String origin, ActorRef<Reply> replyTo) {
      this(address, weight, Request.of(origin, DEFAULT_TIMEOUT), replyTo);
    }

    public AddBackend(HostPort address, int weight, ActorRef<Reply> replyTo) {
      this(address, weight, Request.javaApi(), replyTo);
    }
  }

  /** Removes a backend: it gets no new work at once; open connections to it are not cut. */
  public record RemoveBackend(HostPort address, Request request, ActorRef<Reply> replyTo) implements Change {
    public RemoveBackend(HostPort address, ActorRef<Reply> replyTo) {
      this(address, Request.javaApi(), replyTo);
    }
  }

  public record SetWeight(HostPort address, int weight, Request request, ActorRef<Reply> replyTo) implements Change {
    public SetWeight(HostPort address, int weight, ActorRef<Reply> replyTo) {
      this(address, weight, Request.javaApi(), replyTo);
    }
  }

  /** The backend gets no new connections or requests; open ones finish. */
  public record Drain(HostPort address, Request request, ActorRef<Reply> replyTo) implements Change {
    public Drain(HostPort address, ActorRef<Reply> replyTo) {
      this(address, Request.javaApi(), replyTo);
    }
  }

  /** The backend takes new work again. */
  public record Undrain(HostPort address, Request request, ActorRef<Reply> replyTo) implements Change {
    public Undrain(HostPort address, ActorRef<Reply> replyTo) {
      this(address, Request.javaApi(), replyTo);
    }
  }

  public record SetStrategy(StrategyKind strategy, Request request, ActorRef<Reply> replyTo) implements Change {
    public SetStrategy(StrategyKind strategy, ActorRef<Reply> replyTo) {
      this(strategy, Request.javaApi(), replyTo);
    }
  }

  public record SetHealthCheck(HealthCheckSettings healthCheck, Request request, ActorRef<Reply> replyTo) implements Change {
    public SetHealthCheck(HealthCheckSettings healthCheck, ActorRef<Reply> replyTo) {
      this(healthCheck, Request.javaApi(), replyTo);
    }
  }

  /**
   * Sets the pool's TLS to its backends (empty: plain connections). The settings are checked here; that their files
   * can be read is each node's to find out (the admin API checks on the node that takes the call).
   */
  public record SetTls(Optional<BackendTlsSettings> tls, Request request, ActorRef<Reply> replyTo) implements Change {
    public SetTls {
      tls = tls == null ? Optional.empty() : tls;
    }

    public SetTls(Optional<BackendTlsSettings> tls, ActorRef<Reply> replyTo) {
      this(tls, Request.javaApi(), replyTo);
    }
  }

  /**
   * Sets the protocol spoken to the pool's backends. h2 needs the pool's TLS and h2c plain connections: to move
   * between them, set http/1.1 first, then the TLS, then the new protocol. Requests already under way finish on the
   * connections they have; new ones use the new protocol.
   */
  public record SetProtocol(BackendProtocol protocol, Request request, ActorRef<Reply> replyTo) implements Change {
    public SetProtocol(BackendProtocol protocol, ActorRef<Reply> replyTo) {
      this(protocol, Request.javaApi(), replyTo);
    }
  }

  /**
   * Replies the current state, whether or not the pool exists ({@link PoolState#exists()}). It waits for the entity;
   * {@code Fulcrum.state(pool)} answers from the node's replicated view at once.
   */
  public record GetState(ActorRef<PoolState> replyTo) implements Command {}

  /**
   * The shard's stop message (passivation, hand-off, shutdown). An entity that asked to passivate and whose pool exists
   * by now (it was created while the request was on its way) asks, before it stops, to be started again ({@link Wake}).
   */
  public record Stop() implements Command {}

  /** Starts the entity (it then recovers and publishes its pool) and does nothing else. */
  public record Wake() implements Command {}

  /** A second after it started: the entity leaves if its pool still does not exist. */
  private record LeaveIfGone() implements Command {}

  /**
   * How an entity under Cluster Sharding with remember-entities leaves when its pool does not exist (never created, or
   * deleted), or a route table's when its table was never set: otherwise every such entity is started again on every
   * cluster start and every failover, and reads its journal, for good.
   *
   * @param shard the entity's shard, told to passivate it
   * @param wake sends {@link Wake} to the entity through sharding (the shard buffers it while the entity stops)
   */
  public record Passivation(ActorRef<ClusterSharding.ShardCommand> shard, Runnable wake) {}

  /**
   * Replies how the pool's DNS names resolve, from the follower that runs beside the entity ({@link DiscoveryStatus#NONE}
   * when the pool follows no name).
   */
  public record GetDiscovery(ActorRef<DiscoveryStatus> replyTo) implements Command {}

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

  /**
   * The change is in the journal ({@code state} includes it), or changed nothing, or was applied before under the same
   * idempotency key.
   */
  public record Ok(PoolState state) implements Reply {}

  /** The command was refused and nothing was persisted, nor ever will be. */
  public record Rejected(Reason reason, String message) implements Reply, HistoryReply {}

  /**
   * The journal's answer to the write was lost (it timed out, or its connection broke): the change may or may not be
   * in the journal. Read the pool's version before retrying, or retry with the same idempotency key.
   */
  public record OutcomeUnknown(String message) implements Reply {}

  public enum Reason {
    NO_SUCH_POOL,
    NO_SUCH_BACKEND,
    ALREADY_EXISTS,
    INVALID,
    /** The journal cannot be written now; nothing was stored. */
    UNAVAILABLE,
    /** The change's turn came after its deadline; it was not applied. */
    EXPIRED,
    /** This node is not part of the cluster's majority now: it routes, but changes wait until it rejoins. */
    READ_ONLY
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
        @JsonSubTypes.Type(PoolEvent.HealthCheckChanged.class),
        @JsonSubTypes.Type(PoolEvent.TlsChanged.class),
        @JsonSubTypes.Type(PoolEvent.ProtocolChanged.class)
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

  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(PoolEntity.class);

  private final String pool;
  private final JournalSettings settings;
  private final PoolStatePublisher publisher;
  private final ActorSystem<?> system;
  /** Where the journal's work is counted; null when nothing counts it (tests). */
  private final dev.fulcrum.observe.JournalMeter journal;
  /**
   * The caller of the change being written, until the journal answers. It lives in this object, which outlives the
   * restarts after a failed write, so that the signal of the failure can still answer it.
   */
  private ActorRef<Reply> writing;
  private final org.apache.pekko.actor.typed.javadsl.ActorContext<Command> context;
  private final PoolDiscovery discovery;
  /** The child that follows the pool's DNS names, while the pool has any in this node's config. */
  private ActorRef<DnsFollower.Command> follower;
  private int followers;

  /** The behavior of the entity for {@code pool}; run it under Cluster Sharding with {@link #TYPE_KEY}. */
  public static Behavior<Command> create(String pool, JournalSettings settings, PoolStatePublisher publisher) {
    return create(pool, settings, publisher, PoolDiscovery.NONE);
  }

  /** As above, following the pool's DNS names if {@code discovery} has any for it. */
  public static Behavior<Command> create(
      String pool, JournalSettings settings, PoolStatePublisher publisher, PoolDiscovery discovery) {
    return create(pool, settings, publisher, discovery, null);
  }

  /** As above, counting the journal's work in {@code journal} (null: not counted). */
  public static Behavior<Command> create(String pool, JournalSettings settings, PoolStatePublisher publisher,
      PoolDiscovery discovery, dev.fulcrum.observe.JournalMeter journal) {
    return create(pool, settings, publisher, discovery, journal, null);
  }

  /** As above, under Cluster Sharding: the entity passivates while its pool does not exist ({@code null}: never). */
  public static Behavior<Command> create(String pool, JournalSettings settings, PoolStatePublisher publisher,
      PoolDiscovery discovery, dev.fulcrum.observe.JournalMeter journal, Passivation passivation) {
    return Behaviors.setup(ctx -> new PoolEntity(pool, settings, publisher, ctx, discovery, journal, passivation));
  }

  private PoolEntity(
      String pool, JournalSettings settings, PoolStatePublisher publisher,
      org.apache.pekko.actor.typed.javadsl.ActorContext<Command> context, PoolDiscovery discovery,
      dev.fulcrum.observe.JournalMeter journal, Passivation passivation) {
    // A journal that is briefly unreachable (a database restart) must not leave the pool stopped. Pekko keeps the
    // entity's stash across these restarts, so changes that queued up while the journal was down are handled once it
    // is back: the deadline check in change() is what keeps them from being applied behind their callers' backs.
    super(persistenceId(pool), SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.2));
    this.pool = pool;
    this.settings = settings;
    this.publisher = publisher;
    this.system = context.getSystem();
    this.context = context;
    this.discovery = discovery;
    this.journal = journal;
    this.leaving = new Leaving<>(passivation, context, new LeaveIfGone(), "pool " + pool);
  }

  private final Leaving<Command> leaving;

  /**
   * Starts the pool's DNS follower after each recovery (a restart after a failed write stops the children): the
   * follower is the entity's child, so it runs on the one node that runs the entity and moves with it.
   */
  private void startFollower(PoolState state) {
    discovery.settings().apply(pool).ifPresent(names -> {
      if (follower != null && context.getChild(follower.path().name()).isPresent()) context.stop(follower);
      follower = context.spawn(
          DnsFollower.create(pool, names, discovery, context.getSelf(), state, settings.writeTimeout()),
          "dns-" + (++followers));
    });
  }

  /** Everything the pool becomes reaches its follower, whatever the change's origin. */
  private void changed(PoolState state) {
    publisher.publish(state);
    if (follower != null) follower.tell(new DnsFollower.PoolChanged(state));
    leaving.leaveIfGone(state.exists());
  }

  private void written(int events) {
    if (journal != null) journal.written(pool, events);
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

  /** Every event is tagged so that each node can follow the changes in the journal's order (see JournalFeed). */
  @Override
  public Set<String> tagsFor(PoolEvent event) {
    return dev.fulcrum.events.JournalFeed.TAGS;
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
          startFollower(state);
          leaving.recovered(state.exists());
        })
        .onSignal(JournalPersistFailed.class, (state, signal) -> answerFailedWrite(signal.failure(), false))
        .onSignal(JournalPersistRejected.class, (state, signal) -> answerFailedWrite(signal.failure(), true))
        .onSignal(org.apache.pekko.persistence.typed.RecoveryFailed.class, (state, signal) -> {
          if (journal != null) journal.failed(pool, dev.fulcrum.observe.JournalMeter.Failure.RECOVERY);
        })
        .build();
  }

  /**
   * The journal did not confirm a write: the entity restarts and recovers; its caller learns now what is known. A write
   * the journal rejected, or one that never reached the database (the circuit breaker was open, no connection could be
   * had), is certainly not stored. Any other failure, a timeout above all, may have committed: outcome unknown.
   */
  private void answerFailedWrite(Throwable failure, boolean rejected) {
    if (journal != null) {
      journal.failed(pool, rejected ? dev.fulcrum.observe.JournalMeter.Failure.WRITE_REJECTED
          : dev.fulcrum.observe.JournalMeter.Failure.WRITE_FAILED);
    }
    ActorRef<Reply> caller = writing;
    writing = null;
    log.warn("pool {}: the journal did not store a change: {}", pool, dev.fulcrum.Failures.describe(failure));
    if (caller == null) return;
    if (rejected || neverReachedTheDatabase(failure)) {
      caller.tell(new Rejected(Reason.UNAVAILABLE, "the journal is unavailable (" + dev.fulcrum.Failures.describe(failure)
          + "); nothing was stored, retry later"));
    } else {
      caller.tell(new OutcomeUnknown("the journal did not confirm the change (" + dev.fulcrum.Failures.describe(failure)
          + "): it may or may not be stored. Read the pool's version before retrying, or retry with the same idempotency key"));
    }
  }

  private static boolean neverReachedTheDatabase(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof org.apache.pekko.pattern.CircuitBreakerOpenException) return true;
      if (t instanceof java.sql.SQLTransientConnectionException) return true;
      if (t.getCause() == t) break;
    }
    return false;
  }

  @Override
  public CommandHandlerWithReply<Command, PoolEvent, PoolState> commandHandler() {
    return newCommandHandlerWithReplyBuilder()
        .forAnyState()
        .onCommand(GetState.class, (state, c) -> Effect().reply(c.replyTo(), state))
        .onCommand(Wake.class, (state, c) -> Effect().noReply())
        .onCommand(LeaveIfGone.class, (state, c) -> leaving.leaveIfGone(state.exists(), Effect().noReply()))
        // a hand-off or a shutdown stops the entity for good on this node; only one that asked to leave may come back
        .onCommand(Stop.class, (state, c) -> leaving.stopping(state.exists(), Effect().stop().thenNoReply()))
        .onCommand(GetHistory.class, this::history)
        .onCommand(GetDiscovery.class, (state, c) -> {
          if (follower == null) return Effect().reply(c.replyTo(), DiscoveryStatus.NONE);
          follower.tell(new DnsFollower.GetStatus(c.replyTo()));
          return Effect().noReply();
        })
        .onCommand(GetLocation.class, (state, c) ->
            Effect().reply(c.replyTo(), new Location(pool, Cluster.get(system).selfMember().address().toString())))
        .onCommand(Bootstrap.class, this::bootstrap)
        .onCommand(Create.class, (state, c) -> change(state, c, (s, key) -> create(s, c, key)))
        .onCommand(Delete.class, (state, c) -> change(state, c, (s, key) ->
            whenExists(s, p -> write(new PoolEvent.PoolDeleted(Instant.now(), c.request().origin(), key)))))
        .onCommand(AddBackend.class, (state, c) -> change(state, c, (s, key) -> addBackend(s, c, key)))
        .onCommand(RemoveBackend.class, (state, c) -> change(state, c, (s, key) -> withBackend(s, c.address(), b ->
            write(new PoolEvent.BackendRemoved(c.address(), Instant.now(), c.request().origin(), key)))))
        .onCommand(SetWeight.class, (state, c) -> change(state, c, (s, key) -> weightProblem(c.weight())
            .<Decision>map(problem -> new Refuse(Reason.INVALID, problem))
            .orElseGet(() -> withBackend(s, c.address(), b -> b.weight() == c.weight()
                ? UNCHANGED
                : write(new PoolEvent.WeightChanged(c.address(), c.weight(), Instant.now(), c.request().origin(), key))))))
        .onCommand(Drain.class, (state, c) -> change(state, c, (s, key) -> withBackend(s, c.address(), b ->
            b.admin() == BackendSettings.Admin.DRAINING
                ? UNCHANGED
                : write(new PoolEvent.DrainStarted(c.address(), Instant.now(), c.request().origin(), key)))))
        .onCommand(Undrain.class, (state, c) -> change(state, c, (s, key) -> withBackend(s, c.address(), b ->
            b.admin() == BackendSettings.Admin.ACTIVE
                ? UNCHANGED
                : write(new PoolEvent.DrainStopped(c.address(), Instant.now(), c.request().origin(), key)))))
        .onCommand(SetStrategy.class, (state, c) -> change(state, c, (s, key) -> c.strategy() == null
            ? new Refuse(Reason.INVALID, "strategy is missing")
            : whenExists(s, p -> p.strategy() == c.strategy()
                ? UNCHANGED
                : write(new PoolEvent.StrategyChanged(c.strategy(), Instant.now(), c.request().origin(), key)))))
        .onCommand(SetHealthCheck.class, (state, c) -> change(state, c, (s, key) -> healthCheckProblem(c.healthCheck())
            .<Decision>map(problem -> new Refuse(Reason.INVALID, problem))
            .orElseGet(() -> whenExists(s, p -> p.healthCheck().equals(c.healthCheck())
                ? UNCHANGED
                : write(new PoolEvent.HealthCheckChanged(c.healthCheck(), Instant.now(), c.request().origin(), key))))))
        .onCommand(SetTls.class, (state, c) -> change(state, c, (s, key) -> tlsProblem(c.tls())
            .<Decision>map(problem -> new Refuse(Reason.INVALID, problem))
            .orElseGet(() -> whenExists(s, p -> p.tls().equals(c.tls())
                ? UNCHANGED
                : p.protocol().problem(c.tls().isPresent())
                    .<Decision>map(problem -> new Refuse(Reason.INVALID, "tls: the pool speaks "
                        + p.protocol().kind().label + " to its backends, which "
                        + (c.tls().isPresent() ? "is plain TCP" : "needs TLS") + ": change its protocol first"))
                    .orElseGet(() -> write(new PoolEvent.TlsChanged(c.tls(), Instant.now(), c.request().origin(), key)))))))
        .onCommand(SetProtocol.class, (state, c) -> change(state, c, (s, key) -> c.protocol() == null
            ? new Refuse(Reason.INVALID, "protocol is missing")
            : whenExists(s, p -> p.protocol().equals(c.protocol())
                ? UNCHANGED
                : c.protocol().problem(p.tls().isPresent())
                    .<Decision>map(problem -> new Refuse(Reason.INVALID, problem))
                    .orElseGet(() -> write(new PoolEvent.ProtocolChanged(c.protocol(), Instant.now(), c.request().origin(), key))))))
        .build();
  }

  /** What a change does to the pool: refuse it, nothing (it is in effect already), or persist an event. */
  private sealed interface Decision {}

  private record Refuse(Reason reason, String message) implements Decision {}

  private record Unchanged() implements Decision {}

  private record Write(PoolEvent event) implements Decision {}

  private static final Decision UNCHANGED = new Unchanged();

  private static Decision write(PoolEvent event) {
    return new Write(event);
  }

  /** Decides a change given the state and the request's idempotency key (null without one). */
  @FunctionalInterface
  private interface Decider {
    Decision decide(PoolState state, String key);
  }

  /**
   * Every change passes here: a key the pool applied recently answers Ok without applying it again; a change whose
   * caller's deadline has passed is refused whatever it is (its caller has given up, or is about to, and must never
   * see it applied later); only then is the change itself decided.
   */
  private ReplyEffect<PoolEvent, PoolState> change(PoolState state, Change c, Decider decider) {
    Request request = c.request();
    Optional<String> badKey = request.idempotencyKey().flatMap(Request::keyProblem);
    if (badKey.isPresent()) return reject(c.replyTo(), Reason.INVALID, badKey.get());
    String key = request.idempotencyKey().orElse(null);
    // Before the deadline check: a retry of a change that was applied is answered Ok even when it comes late, never
    // "not applied".
    if (key != null && state.appliedAt(key).isPresent()) return Effect().reply(c.replyTo(), new Ok(state));
    Instant now = Instant.now();
    if (now.isAfter(request.deadline())) {
      log.info("pool {}: refused a change from {} that came {} ms after its deadline", pool, request.origin(),
          Duration.between(request.deadline(), now).toMillis());
      return reject(c.replyTo(), Reason.EXPIRED, "the change was not applied: its turn came "
          + Duration.between(request.deadline(), now).toMillis() + " ms after the caller's deadline (the pool's entity was "
          + "busy, recovering, moving between nodes or waiting for its journal); nothing was changed, retry");
    }
    Decision decision = decider.decide(state, key);
    if (decision instanceof Refuse r) return reject(c.replyTo(), r.reason(), r.message());
    if (decision instanceof Write w) {
      request.startedTo().ifPresent(started -> started.tell(new Started(pool)));
      writing = c.replyTo();
      return Effect().persist(w.event())
          .thenRun(s -> {
            writing = null;
            written(1);
            changed(s);
          })
          .thenReply(c.replyTo(), Ok::new);
    }
    return Effect().reply(c.replyTo(), new Ok(state));
  }

  private Decision create(PoolState state, Create c, String key) {
    if (state.exists()) return new Refuse(Reason.ALREADY_EXISTS, "pool '" + pool + "' already exists");
    try {
      SettingsParser.checkName(pool);
    } catch (IllegalArgumentException e) {
      return new Refuse(Reason.INVALID, "name: " + e.getMessage());
    }
    if (c.strategy() == null) return new Refuse(Reason.INVALID, "strategy is missing");
    Set<HostPort> seen = new HashSet<>();
    for (BackendSettings b : c.backends()) {
      if (!seen.add(b.address())) return new Refuse(Reason.INVALID, "backends: duplicate backend " + b.address());
      Optional<String> bad = weightProblem(b.weight());
      if (bad.isPresent()) return new Refuse(Reason.INVALID, "backend " + b.address() + ": " + bad.get());
    }
    HealthCheckSettings healthCheck = c.healthCheck().orElse(settings.defaultHealthCheck());
    Optional<String> bad = healthCheckProblem(healthCheck);
    if (bad.isPresent()) return new Refuse(Reason.INVALID, bad.get());
    Optional<String> badTls = tlsProblem(c.tls());
    if (badTls.isPresent()) return new Refuse(Reason.INVALID, badTls.get());
    Optional<String> badProtocol = c.protocol().problem(c.tls().isPresent());
    if (badProtocol.isPresent()) return new Refuse(Reason.INVALID, badProtocol.get());
    PoolSettings definition = new PoolSettings(pool, c.strategy(), c.backends(), healthCheck).withTls(c.tls())
        .withProtocol(c.protocol());
    return write(new PoolEvent.PoolCreated(definition, Instant.now(), c.request().origin(), key));
  }

  private Decision addBackend(PoolState state, AddBackend c, String key) {
    Optional<String> bad = weightProblem(c.weight());
    if (bad.isPresent()) return new Refuse(Reason.INVALID, bad.get());
    return whenExists(state, p -> state.backend(c.address()).isPresent()
        ? new Refuse(Reason.ALREADY_EXISTS, "backend " + c.address() + " is already in pool '" + pool + "'")
        : write(new PoolEvent.BackendAdded(c.address(), c.weight(), Instant.now(), c.request().origin(), key)));
  }

  private ReplyEffect<PoolEvent, PoolState> bootstrap(PoolState state, Bootstrap c) {
    if (state.version() == 0) {
      return Effect().persist(new PoolEvent.PoolCreated(c.config(), Instant.now(), PoolDiff.ORIGIN))
          .thenRun(s -> {
            written(1);
            changed(s);
          })
          .thenReply(c.replyTo(), s -> new BootstrapResult(s, true, List.of(), false));
    }
    PoolDiff diff = PoolDiff.between(state, c.config(), discovery.settings().apply(pool).isPresent(), Instant.now());
    if (!c.applyConfig() || diff.events().isEmpty()) {
      return Effect().reply(c.replyTo(), new BootstrapResult(state, false, diff.descriptions(), false));
    }
    return Effect().persist(diff.events())
        .thenRun(s -> {
          written(diff.events().size());
          changed(s);
        })
        .thenReply(c.replyTo(), s -> new BootstrapResult(s, false, diff.descriptions(), true));
  }

  private ReplyEffect<PoolEvent, PoolState> history(PoolState state, GetHistory c) {
    if (state.version() == 0) return reject(c.replyTo(), Reason.NO_SUCH_POOL, "no pool '" + pool + "'");
    readHistory(system, settings, pool, c.fromSeq(), settings.readTimeout())
        .whenComplete((reply, failure) -> c.replyTo().tell(reply));
    return Effect().noReply();
  }

  /**
   * The pool's journaled events from {@code fromSeq} on (at most {@value #MAX_HISTORY}), read straight from the journal
   * by whoever asks, or {@link Rejected} with {@link Reason#UNAVAILABLE} saying why the journal cannot be read now.
   * Always completes normally, within {@code timeout}.
   */
  public static CompletionStage<HistoryReply> readHistory(
      ActorSystem<?> system, JournalSettings settings, String pool, long fromSeq, Duration timeout) {
    CurrentEventsByPersistenceIdQuery journal =
        PersistenceQuery.get(system).getReadJournalFor(CurrentEventsByPersistenceIdQuery.class, settings.readJournal());
    return journal.currentEventsByPersistenceId(persistenceId(pool).id(), Math.max(1, fromSeq), Long.MAX_VALUE)
        .take(MAX_HISTORY)
        .map(e -> new Entry(e.sequenceNr(), (PoolEvent) e.event()))
        .completionTimeout(timeout)
        .runWith(Sink.seq(), system)
        .<HistoryReply>thenApply(History::new)
        .exceptionally(failure -> new Rejected(Reason.UNAVAILABLE, "the journal cannot be read now ("
            + (dev.fulcrum.Failures.unwrap(failure) instanceof java.util.concurrent.TimeoutException
                ? "no answer within " + timeout.toMillis() + " ms"
                : dev.fulcrum.Failures.describe(failure))
            + "); the pool's current state is still served by GET /api/pools/" + pool));
  }

  private ReplyEffect<PoolEvent, PoolState> reject(ActorRef<? super Rejected> replyTo, Reason reason, String message) {
    return Effect().reply(replyTo, new Rejected(reason, message));
  }

  private Decision whenExists(PoolState state, Function<PoolSettings, Decision> then) {
    if (!state.exists()) return new Refuse(Reason.NO_SUCH_POOL, "no pool '" + pool + "'");
    return then.apply(state.pool());
  }

  private Decision withBackend(PoolState state, HostPort address, Function<BackendSettings, Decision> then) {
    return whenExists(state, p -> state.backend(address)
        .map(then)
        .orElseGet(() -> new Refuse(Reason.NO_SUCH_BACKEND, "no backend " + address + " in pool '" + pool + "'")));
  }

  private static Optional<String> weightProblem(int weight) {
    return weight < 0 || weight > BackendSettings.MAX_WEIGHT
        ? Optional.of("weight " + weight + " is outside 0-" + BackendSettings.MAX_WEIGHT)
        : Optional.empty();
  }

  private static Optional<String> tlsProblem(Optional<BackendTlsSettings> tls) {
    return tls.flatMap(BackendTlsSettings::problem).map(problem -> "tls." + problem);
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
