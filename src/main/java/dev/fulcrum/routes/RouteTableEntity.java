package dev.fulcrum.routes;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import dev.fulcrum.CborSerializable;
import dev.fulcrum.Failures;
import dev.fulcrum.config.FirewallSettings;
import dev.fulcrum.config.HttpListenerSettings;
import dev.fulcrum.config.HttpRouteSettings;
import dev.fulcrum.config.HttpRouteSettings.HeaderRules;
import dev.fulcrum.config.HttpRouteSettings.WeightedPool;
import dev.fulcrum.config.JournalSettings;
import dev.fulcrum.config.RouteRules;
import dev.fulcrum.pool.Leaving;
import dev.fulcrum.pool.PoolEntity.Passivation;
import dev.fulcrum.pool.PoolEntity.Request;
import dev.fulcrum.pool.PoolEntity.Started;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.persistence.query.javadsl.CurrentEventsByPersistenceIdQuery;
import org.apache.pekko.persistence.typed.JournalPersistFailed;
import org.apache.pekko.persistence.typed.JournalPersistRejected;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;
import org.apache.pekko.stream.javadsl.Sink;

/**
 * One HTTP listener's route table, event-sourced under Cluster Sharding (entity id: the listener's name), with the
 * rules of {@link dev.fulcrum.pool.PoolEntity}: a change is validated against the whole table it would produce with
 * the config parser's rules ({@link RouteRules#table}, same texts), persisted, published to every node, and answered
 * {@link Ok}; a refused one persists nothing and answers {@link Rejected} naming the field; a change whose caller's
 * deadline passed before its turn is refused; a write the journal did not confirm answers {@link OutcomeUnknown}.
 *
 * <p>This protocol is the public Java API ({@code Fulcrum.changeRoutes}); the admin API translates onto it.
 */
public final class RouteTableEntity
    extends EventSourcedBehaviorWithEnforcedReplies<RouteTableEntity.Command, RouteEvent, RouteTableState> {

  public static final EntityTypeKey<Command> TYPE_KEY = EntityTypeKey.create(Command.class, "RouteTable");
  public static final int MAX_HISTORY = 1000;

  public static PersistenceId persistenceId(String listener) {
    return PersistenceId.of(TYPE_KEY.name(), listener);
  }

  // ---- commands ---------------------------------------------------------------------------------------------------

  public sealed interface Command extends CborSerializable {}

  /** A command that changes the table, on the terms of its {@link Request} (origin, deadline, idempotency key). */
  public sealed interface Change extends Command {
    Request request();

    ActorRef<Reply> replyTo();
  }

  /** Sets the whole table (creating it when the listener has none yet). */
  public record SetRoutes(List<HttpRouteSettings> routes, Request request, ActorRef<Reply> replyTo) implements Change {
    public SetRoutes {
      routes = routes == null ? null : List.copyOf(routes);
    }
  }

  /** Inserts a route at {@code position} (0 = first), or last when empty. */
  public record AddRoute(HttpRouteSettings route, OptionalInt position, Request request, ActorRef<Reply> replyTo) implements Change {}

  /** Replaces the named route (the new one may have another name). */
  public record ReplaceRoute(String name, HttpRouteSettings route, Request request, ActorRef<Reply> replyTo) implements Change {}

  public record RemoveRoute(String name, Request request, ActorRef<Reply> replyTo) implements Change {}

  /** Moves the named route to {@code position} (0 = first): order decides among routes for the same host and path. */
  public record MoveRoute(String name, int position, Request request, ActorRef<Reply> replyTo) implements Change {}

  /** Sets the named route's header rules and firewall. */
  public record SetRules(String name, HeaderRules requestHeaders, HeaderRules responseHeaders, FirewallSettings firewall,
      Request request, ActorRef<Reply> replyTo) implements Change {}

  /** Sets the named route's pools and weights (one pool: weight ignored; several: weights in percent adding to 100). */
  public record SetPools(String name, List<WeightedPool> pools, Request request, ActorRef<Reply> replyTo) implements Change {
    public SetPools {
      pools = pools == null ? null : List.copyOf(pools);
    }
  }

  public record GetState(ActorRef<RouteTableState> replyTo) implements Command {}

  /**
   * The shard's stop message (passivation, hand-off, shutdown). An entity that asked to passivate and whose table exists
   * by now (it was set while the request was on its way) asks, before it stops, to be started again ({@link Wake}).
   */
  public record Stop() implements Command {}

  /** Starts the entity (it then recovers and publishes its table) and does nothing else. */
  public record Wake() implements Command {}

  /** A second after it started: the entity leaves if its table still does not exist. */
  private record LeaveIfGone() implements Command {}

  /** Start-up: sets the table from config when it has no journal yet, else reports (or applies) the differences. */
  public record Bootstrap(List<HttpRouteSettings> config, boolean applyConfig, ActorRef<BootstrapResult> replyTo) implements Command {}

  // ---- replies ----------------------------------------------------------------------------------------------------

  public sealed interface Reply extends CborSerializable {}

  public sealed interface HistoryReply extends CborSerializable {}

  public record Ok(RouteTableState state) implements Reply {}

  public record Rejected(Reason reason, String message) implements Reply, HistoryReply {}

  public record OutcomeUnknown(String message) implements Reply {}

  public enum Reason { NO_SUCH_TABLE, NO_SUCH_ROUTE, INVALID, UNAVAILABLE, EXPIRED, READ_ONLY }

  public record History(List<Entry> events) implements HistoryReply {
    public History {
      events = List.copyOf(events);
    }
  }

  public record Entry(
      long seq,
      @JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "type")
      @JsonSubTypes({
        @JsonSubTypes.Type(RouteEvent.RoutesSet.class),
        @JsonSubTypes.Type(RouteEvent.RouteAdded.class),
        @JsonSubTypes.Type(RouteEvent.RouteReplaced.class),
        @JsonSubTypes.Type(RouteEvent.RouteRemoved.class),
        @JsonSubTypes.Type(RouteEvent.RouteMoved.class),
        @JsonSubTypes.Type(RouteEvent.RulesChanged.class),
        @JsonSubTypes.Type(RouteEvent.PoolsChanged.class)
      })
      RouteEvent event)
      implements CborSerializable {}

  /** @param created set from config now; @param applied the config's differences were persisted */
  public record BootstrapResult(RouteTableState state, boolean created, List<String> differences, boolean applied)
      implements CborSerializable {
    public BootstrapResult {
      differences = List.copyOf(differences);
    }
  }

  // ---- behavior ---------------------------------------------------------------------------------------------------

  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(RouteTableEntity.class);
  static final String CONFIG = "config";

  private final String listener;
  private final JournalSettings settings;
  private final RouteTablePublisher publisher;
  private final Supplier<Set<String>> pools;
  private final Function<String, Optional<HttpListenerSettings.Engine>> engines;
  private final Leaving<Command> leaving;
  private ActorRef<Reply> writing;

  /**
   * {@code pools}: the pools that exist as this node knows them, which routes may name; {@code engines}: the engine
   * that serves a listener of that name on this node, if one does (a table the engine cannot serve is refused);
   * {@code passivation}: under Cluster Sharding with remember-entities, how the entity leaves while its table does not
   * exist (a change or a read named a listener that never had one), so that it is not started again on every cluster
   * start and failover for good ({@code null}: never).
   */
  public static Behavior<Command> create(String listener, JournalSettings settings, RouteTablePublisher publisher,
      Supplier<Set<String>> pools, Function<String, Optional<HttpListenerSettings.Engine>> engines, Passivation passivation) {
    return Behaviors.setup(ctx -> new RouteTableEntity(listener, settings, publisher, pools, engines, ctx, passivation));
  }

  private RouteTableEntity(String listener, JournalSettings settings, RouteTablePublisher publisher,
      Supplier<Set<String>> pools, Function<String, Optional<HttpListenerSettings.Engine>> engines,
      ActorContext<Command> context, Passivation passivation) {
    super(persistenceId(listener), SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.2));
    this.listener = listener;
    this.settings = settings;
    this.publisher = publisher;
    this.pools = pools;
    this.engines = engines;
    this.leaving = new Leaving<>(passivation, context, new LeaveIfGone(), "the route table of listener " + listener);
  }

  @Override
  public RouteTableState emptyState() {
    return RouteTableState.empty(listener);
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(settings.snapshotEvery(), 2);
  }

  @Override
  public EventHandler<RouteTableState, RouteEvent> eventHandler() {
    return RouteTableState::apply;
  }

  @Override
  public SignalHandler<RouteTableState> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(RecoveryCompleted.instance(), state -> {
          if (state.version() > 0) publisher.publish(state);
          leaving.recovered(state.exists());
        })
        .onSignal(JournalPersistFailed.class, (state, signal) -> failedWrite(signal.failure(), false))
        .onSignal(JournalPersistRejected.class, (state, signal) -> failedWrite(signal.failure(), true))
        .build();
  }

  private void failedWrite(Throwable failure, boolean rejected) {
    ActorRef<Reply> caller = writing;
    writing = null;
    log.warn("route table {}: the journal did not store a change: {}", listener, Failures.describe(failure));
    if (caller == null) return;
    if (rejected) {
      caller.tell(new Rejected(Reason.UNAVAILABLE, "the journal is unavailable (" + Failures.describe(failure)
          + "); nothing was stored, retry later"));
    } else {
      caller.tell(new OutcomeUnknown("the journal did not confirm the change (" + Failures.describe(failure)
          + "): it may or may not be stored. Read the table's version before retrying, or retry with the same idempotency key"));
    }
  }

  @Override
  public CommandHandlerWithReply<Command, RouteEvent, RouteTableState> commandHandler() {
    return newCommandHandlerWithReplyBuilder()
        .forAnyState()
        .onCommand(GetState.class, (state, c) -> Effect().reply(c.replyTo(), state))
        .onCommand(Wake.class, (state, c) -> Effect().noReply())
        .onCommand(LeaveIfGone.class, (state, c) -> leaving.leaveIfGone(state.exists(), Effect().noReply()))
        .onCommand(Stop.class, (state, c) -> leaving.stopping(state.exists(), Effect().stop().thenNoReply()))
        .onCommand(Bootstrap.class, this::bootstrap)
        .onCommand(SetRoutes.class, (state, c) -> change(state, c, key -> c.routes() == null
            ? refuse(Reason.INVALID, "routes: is missing")
            : new RouteEvent.RoutesSet(c.routes(), Instant.now(), c.request().origin(), key)))
        .onCommand(AddRoute.class, (state, c) -> change(state, c, key -> c.route() == null
            ? refuse(Reason.INVALID, "route: is missing")
            // as MoveRoute's: a position past the end is a mistake (the table is shorter than the client thinks), not "last"
            : c.position().isPresent() && (c.position().getAsInt() < 0 || c.position().getAsInt() > state.routes().size())
            ? refuse(Reason.INVALID, "position: " + c.position().getAsInt() + " is outside 0-" + state.routes().size())
            : new RouteEvent.RouteAdded(c.route(), c.position().orElse(state.routes().size()), Instant.now(), c.request().origin(), key)))
        .onCommand(ReplaceRoute.class, (state, c) -> change(state, c, key -> named(state, c.name(), () -> c.route() == null
            ? refuse(Reason.INVALID, "route: is missing")
            : new RouteEvent.RouteReplaced(c.name(), c.route(), Instant.now(), c.request().origin(), key))))
        .onCommand(RemoveRoute.class, (state, c) -> change(state, c, key -> named(state, c.name(), () ->
            new RouteEvent.RouteRemoved(c.name(), Instant.now(), c.request().origin(), key))))
        .onCommand(MoveRoute.class, (state, c) -> change(state, c, key -> named(state, c.name(), () ->
            c.position() < 0 || c.position() >= state.routes().size()
                ? refuse(Reason.INVALID, "position: " + c.position() + " is outside 0-" + (state.routes().size() - 1))
                : new RouteEvent.RouteMoved(c.name(), c.position(), Instant.now(), c.request().origin(), key))))
        .onCommand(SetRules.class, (state, c) -> change(state, c, key -> named(state, c.name(), () ->
            new RouteEvent.RulesChanged(c.name(), c.requestHeaders(), c.responseHeaders(), c.firewall(), Instant.now(),
                c.request().origin(), key))))
        .onCommand(SetPools.class, (state, c) -> change(state, c, key -> named(state, c.name(), () -> c.pools() == null
            ? refuse(Reason.INVALID, "pools: is missing")
            : new RouteEvent.PoolsChanged(c.name(), single(c.pools()), Instant.now(), c.request().origin(), key))))
        .build();
  }

  /** One pool takes every request, whatever weight it was given. */
  private static List<WeightedPool> single(List<WeightedPool> pools) {
    return pools.size() == 1 ? List.of(new WeightedPool(pools.get(0).pool(), 100)) : pools;
  }

  /** A refusal, in the place of an event. */
  private record Refusal(Reason reason, String message) {}

  private static Object refuse(Reason reason, String message) {
    return new Refusal(reason, message);
  }

  private Object named(RouteTableState state, String name, Supplier<Object> then) {
    if (!state.exists()) return refuse(Reason.NO_SUCH_TABLE, "no route table for listener '" + listener + "'");
    if (name == null || state.indexOf(name).isEmpty()) {
      return refuse(Reason.NO_SUCH_ROUTE, "no route '" + name + "' in the table of listener '" + listener + "' (routes: "
          + String.join(", ", state.routes().stream().map(r -> "'" + r.name() + "'").toList()) + ")");
    }
    return then.get();
  }

  @FunctionalInterface
  private interface Decider {
    /** An event to persist, or a {@link Refusal}. */
    Object decide(String key);
  }

  /**
   * As a pool's change: a key applied recently answers Ok; a change past its deadline is refused; then the change is
   * decided, and its event is persisted only if the table it produces passes every rule of the config.
   */
  private ReplyEffect<RouteEvent, RouteTableState> change(RouteTableState state, Change c, Decider decider) {
    Request request = c.request();
    Optional<String> badKey = request.idempotencyKey().flatMap(Request::keyProblem);
    if (badKey.isPresent()) return reject(c.replyTo(), Reason.INVALID, badKey.get());
    String key = request.idempotencyKey().orElse(null);
    if (key != null && state.appliedAt(key).isPresent()) return Effect().reply(c.replyTo(), new Ok(state));
    Instant now = Instant.now();
    if (now.isAfter(request.deadline())) {
      return reject(c.replyTo(), Reason.EXPIRED, "the change was not applied: its turn came "
          + Duration.between(request.deadline(), now).toMillis() + " ms after the caller's deadline (the route table's "
          + "entity was busy, recovering, moving between nodes or waiting for its journal); nothing was changed, retry");
    }
    Object decision = decider.decide(key);
    if (decision instanceof Refusal r) return reject(c.replyTo(), r.reason(), r.message());
    RouteEvent event = (RouteEvent) decision;
    List<HttpRouteSettings> next = RouteTableState.applyTo(state.routes(), event);
    Optional<RouteRules.Problem> problem = RouteRules.table(next, pools.get());
    if (problem.isPresent()) return reject(c.replyTo(), Reason.INVALID, problem.get().toString());
    Optional<HttpListenerSettings.Engine> engine = engines.apply(listener);
    Optional<RouteRules.Problem> unservable = engine.flatMap(e -> RouteRules.engine(next, e));
    if (unservable.isPresent()) {
      return reject(c.replyTo(), Reason.INVALID, unservable.get() + " (listener '" + listener + "' has engine = "
          + engine.get().name().toLowerCase(java.util.Locale.ROOT) + ")");
    }
    // a change that is in effect already writes nothing: no event, no new version, no notice to anyone
    if (next.equals(state.routes())) return Effect().reply(c.replyTo(), new Ok(state));
    request.startedTo().ifPresent(started -> started.tell(new Started(listener)));
    writing = c.replyTo();
    return Effect().persist(event)
        .thenRun(s -> {
          writing = null;
          publisher.publish(s);
        })
        .thenReply(c.replyTo(), Ok::new);
  }

  private ReplyEffect<RouteEvent, RouteTableState> bootstrap(RouteTableState state, Bootstrap c) {
    if (!state.exists()) {
      return Effect().persist(new RouteEvent.RoutesSet(c.config(), Instant.now(), CONFIG, null))
          .thenRun(publisher::publish)
          .thenReply(c.replyTo(), s -> new BootstrapResult(s, true, List.of(), false));
    }
    List<String> differences = differences(state.routes(), c.config());
    if (!c.applyConfig() || differences.isEmpty()) {
      return Effect().reply(c.replyTo(), new BootstrapResult(state, false, differences, false));
    }
    return Effect().persist(new RouteEvent.RoutesSet(c.config(), Instant.now(), CONFIG, null))
        .thenRun(publisher::publish)
        .thenReply(c.replyTo(), s -> new BootstrapResult(s, false, differences, true));
  }

  /** How the journal's routes differ from the config's, one sentence each, by route name. */
  static List<String> differences(List<HttpRouteSettings> journal, List<HttpRouteSettings> config) {
    List<String> why = new java.util.ArrayList<>();
    for (HttpRouteSettings r : journal) {
      Optional<HttpRouteSettings> mine = config.stream().filter(c -> c.name().equals(r.name())).findFirst();
      if (mine.isEmpty()) why.add("route '" + r.name() + "' is in the journal, not in config");
      else if (!mine.get().equals(r)) why.add("route '" + r.name() + "' differs between the journal and config");
    }
    for (HttpRouteSettings c : config) {
      if (journal.stream().noneMatch(r -> r.name().equals(c.name()))) why.add("route '" + c.name() + "' is in config, not in the journal");
    }
    if (why.isEmpty() && !journal.equals(config)) why.add("the routes are in another order in the journal than in config");
    return why;
  }

  private ReplyEffect<RouteEvent, RouteTableState> reject(ActorRef<? super Rejected> replyTo, Reason reason, String message) {
    return Effect().reply(replyTo, new Rejected(reason, message));
  }

  /** The table's journaled events from {@code fromSeq} on (at most {@value #MAX_HISTORY}); always completes normally. */
  public static CompletionStage<HistoryReply> readHistory(
      ActorSystem<?> system, JournalSettings settings, String listener, long fromSeq, Duration timeout) {
    CurrentEventsByPersistenceIdQuery journal =
        PersistenceQuery.get(system).getReadJournalFor(CurrentEventsByPersistenceIdQuery.class, settings.readJournal());
    return journal.currentEventsByPersistenceId(persistenceId(listener).id(), Math.max(1, fromSeq), Long.MAX_VALUE)
        .take(MAX_HISTORY)
        .map(e -> new Entry(e.sequenceNr(), (RouteEvent) e.event()))
        .completionTimeout(timeout)
        .runWith(Sink.seq(), system)
        .<HistoryReply>thenApply(History::new)
        .exceptionally(failure -> new Rejected(Reason.UNAVAILABLE, "the journal cannot be read now ("
            + Failures.describe(failure) + "); the current table is still served by GET /api/routes/" + listener));
  }
}
