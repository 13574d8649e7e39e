package dev.fulcrum.pool;

import dev.fulcrum.config.ClusterSettings;
import dev.fulcrum.config.JournalSettings;
import dev.fulcrum.config.StrategySettings;
import dev.fulcrum.config.PoolSettings;
import dev.fulcrum.routing.RoutingTables;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.time.Instant;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import org.apache.pekko.actor.Address;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.apache.pekko.persistence.jdbc.testkit.javadsl.SchemaUtils;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.persistence.query.javadsl.CurrentPersistenceIdsQuery;
import org.apache.pekko.stream.javadsl.Sink;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The control plane of one node: the node's {@link LocalPools} (the pools as this node routes them, in the node's own
 * actor system, which outlives cluster membership), and, while the node is a cluster member, the pools' entities under
 * Cluster Sharding and the {@link PoolStateReplicator} in the current cluster incarnation (see
 * {@link dev.fulcrum.cluster.Membership}), plus the start-up rule that reconciles the config with the journal. While
 * the node is not a member (downed by the split-brain resolver, and rejoining) it routes with the last states it had,
 * and changes through it are refused with {@link PoolEntity.Reason#READ_ONLY}.
 */
public final class PoolControl {
  private static final Logger log = LoggerFactory.getLogger(PoolControl.class);
  private static final String ID_PREFIX = PoolEntity.TYPE_KEY.name() + org.apache.pekko.persistence.typed.PersistenceId.DefaultSeparator();
  static final String NOT_A_MEMBER = "this node is not a member of the cluster now (the split-brain resolver downed it, "
      + "or it lost the majority, and it is rejoining by itself); it keeps routing with its last pool states, but "
      + "changes must go through another node until it is back; nothing was changed";

  private final ActorSystem<?> system;
  private final JournalSettings settings;
  private final ClusterSettings cluster;
  private final ActorRef<LocalPools.Command> localPools;
  private final PoolDiscovery discovery;
  private final dev.fulcrum.events.JournalFeed journalFeed;
  private volatile Incarnation current;
  private final java.util.List<java.util.function.Consumer<ActorSystem<?>>> attachHooks = new java.util.concurrent.CopyOnWriteArrayList<>();
  private final java.util.List<java.util.function.Consumer<ActorSystem<?>>> detachHooks = new java.util.concurrent.CopyOnWriteArrayList<>();
  private final Set<String> existing = java.util.concurrent.ConcurrentHashMap.newKeySet();

  /** This node's cluster actor system of the moment and the sharding in it. */
  private record Incarnation(ActorSystem<?> system, ClusterSharding sharding) {}

  /** {@code system} is the node's own actor system, where the routers live; clusters come and go with {@link #attach}. */
  public PoolControl(
      ActorSystem<?> system,
      JournalSettings settings,
      ClusterSettings cluster,
      RoutingTables tables,
      Function<String, StrategySettings> balancing,
      dev.fulcrum.backend.HealthProbes probes) {
    this(system, settings, cluster, tables, balancing, probes, PoolDiscovery.NONE);
  }

  /** As above, with the pools' DNS discovery: each pool's entity follows its names (see {@link DnsFollower}). */
  public PoolControl(
      ActorSystem<?> system,
      JournalSettings settings,
      ClusterSettings cluster,
      RoutingTables tables,
      Function<String, StrategySettings> balancing,
      dev.fulcrum.backend.HealthProbes probes,
      PoolDiscovery discovery) {
    this.discovery = discovery;
    this.system = system;
    this.settings = settings;
    this.cluster = cluster;
    this.localPools = system.systemActorOf(LocalPools.create(tables, balancing, probes, existing), "pools", Props.empty());
    this.journalFeed = new dev.fulcrum.events.JournalFeed(dev.fulcrum.events.FulcrumEvents.get(system), settings.readJournal());
  }

  /**
   * Further control planes that live in each cluster incarnation beside the pools' (the route tables'): attached after
   * the pools' entities (the journal's tables exist then), detached with them. Register before the first attach.
   */
  public void alsoAttach(java.util.function.Consumer<ActorSystem<?>> attach, java.util.function.Consumer<ActorSystem<?>> detach) {
    attachHooks.add(attach);
    detachHooks.add(detach);
  }

  /** The pools that exist as this node knows them (from replication), at this moment. */
  public Set<String> existingPools() {
    return Set.copyOf(existing);
  }

  /**
   * Starts this node's share of the control plane in a cluster incarnation: creates the journal's tables if they are
   * missing (idempotent), then the replicator and the entities' sharding, which feed this node's routers.
   */
  public CompletionStage<Done> attach(ActorSystem<?> clusterSystem) {
    return SchemaUtils.createIfNotExists(clusterSystem).thenApply(done -> {
      ActorRef<PoolStateReplicator.Command> replicator = clusterSystem.systemActorOf(
          PoolStateReplicator.create(localPools, cluster.stateWriteTimeout()), "pool-state-replicator", Props.empty());
      PoolStatePublisher publisher = state -> replicator.tell(new PoolStateReplicator.Publish(state));
      ClusterSharding sharding = ClusterSharding.get(clusterSystem);
      // the journal's counts go to the node's own registry, which outlives this incarnation
      dev.fulcrum.observe.JournalMeter journal = dev.fulcrum.observe.Observability.get(system).journal();
      sharding.init(Entity.of(PoolEntity.TYPE_KEY,
              ctx -> PoolEntity.create(ctx.getEntityId(), settings, publisher, discovery, journal, new PoolEntity.Passivation(
                  ctx.getShard(), () -> sharding.entityRefFor(PoolEntity.TYPE_KEY, ctx.getEntityId()).tell(new PoolEntity.Wake()))))
          .withStopMessage(new PoolEntity.Stop()));
      current = new Incarnation(clusterSystem, sharding);
      journalFeed.start(clusterSystem);
      attachHooks.forEach(hook -> hook.accept(clusterSystem));
      return Done.getInstance();
    });
  }

  /** The incarnation is gone (terminated): until the next {@link #attach}, changes are refused. */
  public void detach(ActorSystem<?> clusterSystem) {
    Incarnation i = current;
    if (i != null && i.system() == clusterSystem) current = null;
    detachHooks.forEach(hook -> hook.accept(clusterSystem));
  }

  /** The cluster actor system this node is a member through now, if any. */
  public Optional<ActorSystem<?>> clusterSystem() {
    Incarnation i = current;
    return i == null ? Optional.empty() : Optional.of(i.system());
  }

  /** Whether changes can be made through this node now: it is an Up member of a cluster. */
  public boolean isMember() {
    Incarnation i = current;
    return i != null && Cluster.get(i.system()).selfMember().status() == MemberStatus.up();
  }

  /** The pool's entity, wherever it runs; the pool need not exist (send {@link PoolEntity.Create}). */
  public EntityRef<PoolEntity.Command> pool(String name) {
    Incarnation i = current;
    if (i == null) throw new IllegalStateException(NOT_A_MEMBER);
    return i.sharding().entityRefFor(PoolEntity.TYPE_KEY, name);
  }

  /** The journaled changes after {@code offset} that are in the journal now (this node must be a cluster member). */
  public org.apache.pekko.stream.javadsl.Source<dev.fulcrum.events.FulcrumEvent, org.apache.pekko.NotUsed> journaledAfter(long offset) {
    Incarnation i = current;
    if (i == null) throw new IllegalStateException(NOT_A_MEMBER);
    return dev.fulcrum.events.JournalFeed.replay(i.system(), settings.readJournal(), offset);
  }

  public ActorRef<LocalPools.Command> localPools() {
    return localPools;
  }

  /**
   * Sends a change to the pool's entity and completes, always normally and at the latest
   * {@link JournalSettings#writeTimeout()} plus {@link #ANSWER_MARGIN} after the request's deadline, with what is
   * known of it: the entity's own {@link PoolEntity.Ok}, {@link PoolEntity.Rejected} or
   * {@link PoolEntity.OutcomeUnknown}; or, when its answer does not come:
   * <ul>
   *   <li>{@code Ok} when the change's idempotency key is in this node's replicated state of the pool (it was applied);
   *   <li>{@code Rejected} ({@link PoolEntity.Reason#EXPIRED}) when the entity never began writing it and the cluster
   *       stayed whole meanwhile: the change waited past its deadline somewhere (the sharding buffers while the entity
   *       moved, the entity's stash while its journal was down), and the entity refuses it when its turn comes;
   *   <li>{@code OutcomeUnknown} otherwise: the entity began writing and then went silent, or a member became
   *       unreachable, so its "started" may have been lost on the way.
   * </ul>
   * A deadline compares wall clocks of two nodes when the entity runs elsewhere: this assumes their clocks agree to
   * well within the write timeout (NTP does).
   */
  public CompletionStage<PoolEntity.Reply> change(
      String pool,
      PoolEntity.Request request,
      BiFunction<PoolEntity.Request, ActorRef<PoolEntity.Reply>, PoolEntity.Change> command) {
    Incarnation incarnation = current;
    if (incarnation == null || !isMember()) {
      return CompletableFuture.completedFuture(new PoolEntity.Rejected(PoolEntity.Reason.READ_ONLY, NOT_A_MEMBER));
    }
    Cluster cluster = Cluster.get(incarnation.system());
    Set<Address> membersBefore = members(cluster);
    boolean troubledBefore = !cluster.state().getUnreachable().isEmpty();
    Duration untilDeadline = Duration.between(Instant.now(), request.deadline());
    Duration wait = (untilDeadline.isNegative() ? Duration.ZERO : untilDeadline).plus(settings.writeTimeout()).plus(ANSWER_MARGIN);
    CompletableFuture<ChangeCall.Heard<PoolEntity.Reply>> heard = new CompletableFuture<>();
    incarnation.system().systemActorOf(ChangeCall.create(incarnation.sharding().entityRefFor(PoolEntity.TYPE_KEY, pool), request, command,
            PoolEntity.Reply.class, wait, heard),
        "change-" + pool + "-" + calls.incrementAndGet(), Props.empty());
    return heard.thenCompose(h -> {
      if (h.reply().isPresent()) return CompletableFuture.completedFuture(h.reply().get());
      boolean troubled = h.paused() || troubledBefore || !cluster.state().getUnreachable().isEmpty()
          || !membersBefore.equals(members(cluster));
      return known(pool).thenApply(state -> {
        Optional<Long> applied = request.idempotencyKey().flatMap(k -> state.flatMap(s -> s.appliedAt(k)));
        if (applied.isPresent()) return new PoolEntity.Ok(state.get());
        if (!h.started() && !troubled) {
          return new PoolEntity.Rejected(PoolEntity.Reason.EXPIRED, "the pool's entity did not take the change within "
              + untilDeadline.toMillis() + " ms (it may be recovering, moving between nodes or waiting for its journal); "
              + "nothing was changed, and it will not be applied later: retry");
        }
        return new PoolEntity.OutcomeUnknown("no answer from the pool's entity within " + wait.toMillis() + " ms "
            + h.silence()
            + ": the change may or may not be applied. Read the pool's version before retrying, or retry with the same "
            + "idempotency key");
      });
    });
  }

  /** How much longer than deadline plus write timeout a caller waits for a change's answer to travel back. */
  public static final Duration ANSWER_MARGIN = Duration.ofMillis(500);

  private final AtomicLong calls = new AtomicLong();

  private static Set<Address> members(Cluster cluster) {
    Set<Address> members = new HashSet<>();
    cluster.state().getMembers().forEach(m -> members.add(m.address()));
    return members;
  }

  /** Whether the pool's entity answers through this node within {@code timeout} (never when the node is no member). */
  public CompletionStage<Boolean> entityReachable(String pool, Duration timeout) {
    Incarnation i = current;
    if (i == null || !isMember()) return CompletableFuture.completedFuture(false);
    return i.sharding().entityRefFor(PoolEntity.TYPE_KEY, pool)
        .<PoolEntity.Location>ask(PoolEntity.GetLocation::new, timeout)
        .handle((location, failure) -> failure == null);
  }

  /**
   * How the pool's DNS names resolve, from its entity's follower wherever it runs; {@link DiscoveryStatus#NONE} when the
   * pool follows no name, and empty when the entity does not answer within {@code timeout}.
   */
  public CompletionStage<Optional<DiscoveryStatus>> discovery(String pool, Duration timeout) {
    Incarnation i = current;
    if (discovery.settings().apply(pool).isEmpty()) return CompletableFuture.completedFuture(Optional.of(DiscoveryStatus.NONE));
    if (i == null || !isMember()) return CompletableFuture.completedFuture(Optional.empty());
    return i.sharding().entityRefFor(PoolEntity.TYPE_KEY, pool)
        .<DiscoveryStatus>ask(PoolEntity.GetDiscovery::new, timeout)
        .handle((status, failure) -> Optional.ofNullable(failure == null ? status : null));
  }

  /** The pool as this node knows it from replication (empty if it never saw it), without asking its entity. */
  public CompletionStage<Optional<PoolState>> known(String pool) {
    return AskPattern.<LocalPools.Command, LocalPools.Pools>ask(localPools, LocalPools.GetPools::new, LOCAL, system.scheduler())
        .thenApply(pools -> pools.state(pool));
  }

  /** Local asks: the node's own actors, which answer at once unless the node is overloaded. */
  private static final Duration LOCAL = Duration.ofSeconds(3);

  /**
   * The pool's journaled events from {@code fromSeq} on, read from the journal by this node (not through the entity,
   * which may be moving or recovering); {@link PoolEntity.Rejected} says when the journal cannot be read or the pool
   * never existed.
   */
  public CompletionStage<PoolEntity.HistoryReply> history(String pool, long fromSeq) {
    Incarnation i = current;
    if (i == null) {
      return CompletableFuture.completedFuture(new PoolEntity.Rejected(PoolEntity.Reason.UNAVAILABLE,
          "this node cannot read the journal now: it is not a member of the cluster (it is rejoining); ask another node"));
    }
    return PoolEntity.readHistory(i.system(), settings, pool, fromSeq, settings.readTimeout()).thenCompose(reply -> {
      if (!(reply instanceof PoolEntity.History h) || !h.events().isEmpty()) return CompletableFuture.completedFuture(reply);
      // No events: past the end of a pool's history, or a pool that never existed.
      return known(pool).thenApply(state -> state.isPresent()
          ? reply
          : new PoolEntity.Rejected(PoolEntity.Reason.NO_SUCH_POOL, "no pool '" + pool + "'"));
    });
  }

  /**
   * Brings every pool up: pools in the config are bootstrapped (created from config when they have no journal, else
   * their journal wins or the config is applied, per {@code fulcrum.journal.bootstrap}), pools that exist only in the
   * journal are recovered. Completes once this node's routers know every pool's state.
   */
  public CompletionStage<Done> bootstrap(List<PoolSettings> configured, Duration timeout) {
    ActorSystem<?> clusterSystem = clusterSystem().orElseThrow(() -> new IllegalStateException(NOT_A_MEMBER));
    CurrentPersistenceIdsQuery ids =
        PersistenceQuery.get(clusterSystem).getReadJournalFor(CurrentPersistenceIdsQuery.class, settings.readJournal());
    return ids.currentPersistenceIds()
        .filter(id -> id.startsWith(ID_PREFIX))
        .map(id -> id.substring(ID_PREFIX.length()))
        .runWith(Sink.seq(), clusterSystem)
        .thenCompose(journaled -> {
          Map<String, PoolSettings> fromConfig = new LinkedHashMap<>();
          configured.forEach(p -> fromConfig.put(p.name(), p));
          List<CompletableFuture<PoolState>> states = new ArrayList<>();
          long deadline = System.nanoTime() + timeout.toNanos();
          configured.forEach(p -> states.add(patiently(() -> bootstrap(p, START_ATTEMPT), deadline).toCompletableFuture()));
          journaled.stream().filter(name -> !fromConfig.containsKey(name))
              .forEach(name -> states.add(patiently(() -> pool(name).<PoolState>ask(PoolEntity.GetState::new, START_ATTEMPT), deadline)
                  .toCompletableFuture()));
          return CompletableFuture.allOf(states.toArray(CompletableFuture[]::new))
              .thenCompose(all -> CompletableFuture.allOf(states.stream()
                  .map(s -> apply(s.join(), timeout).toCompletableFuture())
                  .toArray(CompletableFuture[]::new)))
              .thenApply(all -> Done.getInstance());
        });
  }

  private static <T> CompletionStage<T> patiently(java.util.function.Supplier<CompletionStage<T>> ask, long deadline) {
    return dev.fulcrum.cluster.StartupAsk.patiently("a pool's entity", ask, deadline);
  }

  private static final Duration START_ATTEMPT = Duration.ofSeconds(5);

  private CompletionStage<PoolState> bootstrap(PoolSettings config, Duration timeout) {
    boolean apply = settings.bootstrap() == JournalSettings.Bootstrap.CONFIG;
    return pool(config.name())
        .<PoolEntity.BootstrapResult>ask(replyTo -> new PoolEntity.Bootstrap(config, apply, replyTo), timeout)
        .thenApply(result -> {
          report(config.name(), result);
          return result.state();
        });
  }

  private static void report(String pool, PoolEntity.BootstrapResult result) {
    if (result.created()) {
      log.info("pool {} created from config (version {})", pool, result.state().version());
    } else if (result.applied()) {
      log.warn("pool {}: the config differs from the journal: {}. The config was applied as events "
              + "(fulcrum.journal.bootstrap = config); the pool is now at version {}.",
          pool, String.join("; ", result.differences()), result.state().version());
    } else if (!result.differences().isEmpty()) {
      log.warn("pool {}: the journal (version {}) differs from the config: {}. The journal is kept "
              + "(fulcrum.journal.bootstrap = journal); change the pool through the admin API, or set "
              + "fulcrum.journal.bootstrap = config to apply the config.",
          pool, result.state().version(), String.join("; ", result.differences()));
    }
  }

  private CompletionStage<Done> apply(PoolState state, Duration timeout) {
    return AskPattern.ask(localPools, replyTo -> new LocalPools.Apply(state, replyTo), timeout, system.scheduler());
  }
}
