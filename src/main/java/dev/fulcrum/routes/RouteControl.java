package dev.fulcrum.routes;

import dev.fulcrum.config.ClusterSettings;
import dev.fulcrum.config.HttpListenerSettings;
import dev.fulcrum.config.JournalSettings;
import dev.fulcrum.pool.ChangeCall;
import dev.fulcrum.pool.PoolControl;
import dev.fulcrum.pool.PoolEntity;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiFunction;
import java.util.function.Supplier;
import org.apache.pekko.Done;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.apache.pekko.cluster.typed.Cluster;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The route tables' control plane on one node, beside {@link PoolControl} and by its rules: the entities under Cluster
 * Sharding and the replicator in the current cluster incarnation, this node's {@link LocalRoutes}, changes with exact
 * outcomes ({@link #change}), reads from the local replica, history from the journal, and the start-up rule (journal
 * wins unless {@code fulcrum.journal.bootstrap = config}).
 */
public final class RouteControl {
  private static final Logger log = LoggerFactory.getLogger(RouteControl.class);

  private final JournalSettings settings;
  private final ClusterSettings cluster;
  private final LocalRoutes local;
  private final Supplier<Set<String>> pools;
  private final PoolControl poolControl;
  private volatile ClusterSharding sharding;
  private volatile ActorSystem<?> clusterSystem;
  private final AtomicLong calls = new AtomicLong();
  /** The engine of each HTTP listener of this node: a table its listener's engine cannot serve is refused. */
  private final java.util.Map<String, HttpListenerSettings.Engine> engines = new java.util.concurrent.ConcurrentHashMap<>();

  public RouteControl(JournalSettings settings, ClusterSettings cluster, LocalRoutes local, PoolControl poolControl) {
    this.settings = settings;
    this.cluster = cluster;
    this.local = local;
    this.poolControl = poolControl;
    this.pools = poolControl::existingPools;
  }

  /** Starts this node's share in a cluster incarnation (after the pools', which created the journal's tables). */
  public void attach(ActorSystem<?> system) {
    ActorRef<RouteTableReplicator.Command> replicator = system.systemActorOf(
        RouteTableReplicator.create(local, cluster.stateWriteTimeout()), "route-table-replicator", Props.empty());
    RouteTablePublisher publisher = state -> replicator.tell(new RouteTableReplicator.Publish(state));
    ClusterSharding s = ClusterSharding.get(system);
    s.init(Entity.of(RouteTableEntity.TYPE_KEY, ctx -> RouteTableEntity.create(ctx.getEntityId(), settings, publisher, pools,
            name -> Optional.ofNullable(engines.get(name)), new PoolEntity.Passivation(ctx.getShard(),
                () -> s.entityRefFor(RouteTableEntity.TYPE_KEY, ctx.getEntityId()).tell(new RouteTableEntity.Wake()))))
        .withStopMessage(new RouteTableEntity.Stop()));
    sharding = s;
    clusterSystem = system;
  }

  public void detach(ActorSystem<?> system) {
    if (clusterSystem == system) {
      clusterSystem = null;
      sharding = null;
    }
  }

  /** This node serves (or is about to serve) {@code listener} with {@code engine}; null: no more. */
  public void served(String listener, HttpListenerSettings.Engine engine) {
    if (engine == null) engines.remove(listener);
    else engines.put(listener, engine);
  }

  public LocalRoutes local() {
    return local;
  }

  /** The listener's route table entity, wherever it runs. */
  public EntityRef<RouteTableEntity.Command> table(String listener) {
    ClusterSharding s = sharding;
    if (s == null || !poolControl.isMember()) throw new IllegalStateException(NOT_A_MEMBER);
    return s.entityRefFor(RouteTableEntity.TYPE_KEY, listener);
  }

  static final String NOT_A_MEMBER = "this node is not a member of the cluster now (it is rejoining by itself); it keeps "
      + "routing with its last route tables, but changes must go through another node until it is back; nothing was changed";

  /**
   * Sends a change to the listener's table and completes, always normally, at the latest the journal's write timeout
   * plus half a second after the request's deadline, with the entity's {@code Ok}, {@code Rejected} or
   * {@code OutcomeUnknown}, or, without its answer, what can be known (as {@link PoolControl#change}). With {@code Ok},
   * this node routes by the table it carries (or a newer one) by then.
   */
  public CompletionStage<RouteTableEntity.Reply> change(
      String listener,
      PoolEntity.Request request,
      BiFunction<PoolEntity.Request, ActorRef<RouteTableEntity.Reply>, RouteTableEntity.Change> command) {
    ClusterSharding s = sharding;
    ActorSystem<?> system = clusterSystem;
    if (s == null || system == null || !poolControl.isMember()) {
      return CompletableFuture.completedFuture(new RouteTableEntity.Rejected(RouteTableEntity.Reason.READ_ONLY, NOT_A_MEMBER));
    }
    Cluster c = Cluster.get(system);
    Set<Address> membersBefore = members(c);
    boolean troubledBefore = !c.state().getUnreachable().isEmpty();
    Duration untilDeadline = Duration.between(Instant.now(), request.deadline());
    Duration wait = (untilDeadline.isNegative() ? Duration.ZERO : untilDeadline).plus(settings.writeTimeout()).plus(PoolControl.ANSWER_MARGIN);
    CompletableFuture<ChangeCall.Heard<RouteTableEntity.Reply>> heard = new CompletableFuture<>();
    system.systemActorOf(ChangeCall.create(s.entityRefFor(RouteTableEntity.TYPE_KEY, listener), request, command,
        RouteTableEntity.Reply.class, wait, heard), "route-change-" + calls.incrementAndGet(), Props.empty());
    return heard.thenApply(h -> {
      if (h.reply().isPresent()) {
        // the table the entity committed: this node routes by it before its caller hears Ok, without waiting for the
        // entity's node to push it here (the push and the reply race on a loaded node)
        if (h.reply().get() instanceof RouteTableEntity.Ok ok) local.offer(ok.state());
        return h.reply().get();
      }
      Optional<RouteTableState> known = local.state(listener);
      if (request.idempotencyKey().flatMap(k -> known.flatMap(st -> st.appliedAt(k))).isPresent()) {
        return new RouteTableEntity.Ok(known.get());
      }
      boolean troubled = h.paused() || troubledBefore || !c.state().getUnreachable().isEmpty() || !membersBefore.equals(members(c));
      if (!h.started() && !troubled) {
        return new RouteTableEntity.Rejected(RouteTableEntity.Reason.EXPIRED, "the route table's entity did not take the "
            + "change within " + untilDeadline.toMillis() + " ms (it may be recovering, moving between nodes or waiting for "
            + "its journal); nothing was changed, and it will not be applied later: retry");
      }
      return new RouteTableEntity.OutcomeUnknown("no answer from the route table's entity within " + wait.toMillis() + " ms "
          + h.silence()
          + ": the change may or may not be applied. Read the table's version before retrying, or retry with the same "
          + "idempotency key");
    });
  }

  private static Set<Address> members(Cluster cluster) {
    Set<Address> members = new HashSet<>();
    cluster.state().getMembers().forEach(m -> members.add(m.address()));
    return members;
  }

  /** The table's journaled events from {@code fromSeq} on, read by this node from the journal. */
  public CompletionStage<RouteTableEntity.HistoryReply> history(String listener, long fromSeq) {
    ActorSystem<?> system = clusterSystem;
    if (system == null) {
      return CompletableFuture.completedFuture(new RouteTableEntity.Rejected(RouteTableEntity.Reason.UNAVAILABLE,
          "this node cannot read the journal now: it is not a member of the cluster (it is rejoining); ask another node"));
    }
    return RouteTableEntity.readHistory(system, settings, listener, fromSeq, settings.readTimeout()).thenApply(reply -> {
      if (reply instanceof RouteTableEntity.History h && h.events().isEmpty() && local.state(listener).isEmpty()) {
        return new RouteTableEntity.Rejected(RouteTableEntity.Reason.NO_SUCH_TABLE, "no route table for listener '" + listener + "'");
      }
      return reply;
    });
  }

  /**
   * Start-up: each configured HTTP listener's table from the journal, or from config when it has none (or with
   * {@code bootstrap = config}, the config's differences applied as events with origin "config"); differences are
   * warned once per listener. Completes once this node routes by every table.
   */
  public CompletionStage<Done> bootstrap(List<HttpListenerSettings> listeners, Duration timeout) {
    boolean apply = settings.bootstrap() == JournalSettings.Bootstrap.CONFIG;
    List<CompletableFuture<RouteTableState>> states = new ArrayList<>();
    long deadline = System.nanoTime() + timeout.toNanos();
    for (HttpListenerSettings l : listeners) {
      states.add(patiently(() -> table(l.name()).<RouteTableEntity.BootstrapResult>ask(
              r -> new RouteTableEntity.Bootstrap(l.routes(), apply, r), ATTEMPT), deadline)
          .thenApply(result -> {
            report(l.name(), result);
            return result.state();
          }).toCompletableFuture());
    }
    return CompletableFuture.allOf(states.toArray(CompletableFuture[]::new)).thenApply(all -> {
      states.forEach(s -> local.offer(s.join()));
      return Done.getInstance();
    });
  }

  /** The listener's table from its entity (for a listener added at runtime), offered to this node's registry. */
  public CompletionStage<RouteTableState> load(String listener, Duration timeout) {
    return table(listener).<RouteTableState>ask(RouteTableEntity.GetState::new, timeout).thenApply(state -> {
      local.offer(state);
      return state;
    });
  }

  private static final Duration ATTEMPT = Duration.ofSeconds(5);

  private static <T> CompletionStage<T> patiently(Supplier<CompletionStage<T>> ask, long deadline) {
    return dev.fulcrum.cluster.StartupAsk.patiently("a route table's entity", ask, deadline);
  }

  private static void report(String listener, RouteTableEntity.BootstrapResult result) {
    if (result.created()) {
      log.info("route table of listener {} set from config (version {})", listener, result.state().version());
    } else if (result.applied()) {
      log.warn("listener {}: the config's routes differ from the journal: {}. The config was applied as an event "
          + "(fulcrum.journal.bootstrap = config); the table is now at version {}.",
          listener, String.join("; ", result.differences()), result.state().version());
    } else if (!result.differences().isEmpty()) {
      log.warn("listener {}: the journal's routes (version {}) differ from the config: {}. The journal is kept "
          + "(fulcrum.journal.bootstrap = journal); change routes through the admin API, or set "
          + "fulcrum.journal.bootstrap = config to apply the config.",
          listener, result.state().version(), String.join("; ", result.differences()));
    }
  }
}
