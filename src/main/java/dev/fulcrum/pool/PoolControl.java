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
import java.util.function.Function;
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
 * The control plane of one node: the pools' entities under Cluster Sharding (a single node is a cluster of one), the
 * node's {@link LocalPools} fed by the {@link PoolStateReplicator} with every pool's state from whichever node runs
 * its entity, and the start-up rule that reconciles the config with the journal.
 */
public final class PoolControl {
  private static final Logger log = LoggerFactory.getLogger(PoolControl.class);
  private static final String ID_PREFIX = PoolEntity.TYPE_KEY.name() + org.apache.pekko.persistence.typed.PersistenceId.DefaultSeparator();

  private final ActorSystem<?> system;
  private final JournalSettings settings;
  private final ClusterSharding sharding;
  private final ActorRef<LocalPools.Command> localPools;

  private PoolControl(
      ActorSystem<?> system,
      JournalSettings settings,
      ClusterSettings cluster,
      RoutingTables tables,
      Function<String, StrategySettings> balancing,
      dev.fulcrum.backend.HealthProbes probes) {
    this.system = system;
    this.settings = settings;
    this.sharding = ClusterSharding.get(system);
    this.localPools = system.systemActorOf(LocalPools.create(tables, balancing, probes), "pools", Props.empty());
    ActorRef<PoolStateReplicator.Command> replicator = system.systemActorOf(
        PoolStateReplicator.create(localPools, cluster.stateWriteTimeout()), "pool-state-replicator", Props.empty());
    PoolStatePublisher publisher = state -> replicator.tell(new PoolStateReplicator.Publish(state));
    sharding.init(Entity.of(PoolEntity.TYPE_KEY, ctx -> PoolEntity.create(ctx.getEntityId(), settings, publisher)));
  }

  /** Creates the journal's tables if they are missing (idempotent), then starts the entities' sharding. */
  public static CompletionStage<PoolControl> start(
      ActorSystem<?> system,
      JournalSettings settings,
      ClusterSettings cluster,
      RoutingTables tables,
      Function<String, StrategySettings> balancing,
      dev.fulcrum.backend.HealthProbes probes) {
    return SchemaUtils.createIfNotExists(system)
        .thenApply(done -> new PoolControl(system, settings, cluster, tables, balancing, probes));
  }

  /** The pool's entity, wherever it runs; the pool need not exist (send {@link PoolEntity.Create}). */
  public EntityRef<PoolEntity.Command> pool(String name) {
    return sharding.entityRefFor(PoolEntity.TYPE_KEY, name);
  }

  public ActorRef<LocalPools.Command> localPools() {
    return localPools;
  }

  /**
   * Brings every pool up: pools in the config are bootstrapped (created from config when they have no journal, else
   * their journal wins or the config is applied, per {@code fulcrum.journal.bootstrap}), pools that exist only in the
   * journal are recovered. Completes once this node's routers know every pool's state.
   */
  public CompletionStage<Done> bootstrap(List<PoolSettings> configured, Duration timeout) {
    CurrentPersistenceIdsQuery ids =
        PersistenceQuery.get(system).getReadJournalFor(CurrentPersistenceIdsQuery.class, settings.readJournal());
    return ids.currentPersistenceIds()
        .filter(id -> id.startsWith(ID_PREFIX))
        .map(id -> id.substring(ID_PREFIX.length()))
        .runWith(Sink.seq(), system)
        .thenCompose(journaled -> {
          Map<String, PoolSettings> fromConfig = new LinkedHashMap<>();
          configured.forEach(p -> fromConfig.put(p.name(), p));
          List<CompletableFuture<PoolState>> states = new ArrayList<>();
          configured.forEach(p -> states.add(bootstrap(p, timeout).toCompletableFuture()));
          journaled.stream().filter(name -> !fromConfig.containsKey(name))
              .forEach(name -> states.add(pool(name).<PoolState>ask(PoolEntity.GetState::new, timeout).toCompletableFuture()));
          return CompletableFuture.allOf(states.toArray(CompletableFuture[]::new))
              .thenCompose(all -> CompletableFuture.allOf(states.stream()
                  .map(s -> apply(s.join(), timeout).toCompletableFuture())
                  .toArray(CompletableFuture[]::new)))
              .thenApply(all -> Done.getInstance());
        });
  }

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
