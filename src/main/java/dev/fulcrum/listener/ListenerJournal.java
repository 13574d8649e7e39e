package dev.fulcrum.listener;

import dev.fulcrum.config.JournalSettings;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.ClusterShardingSettings;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;

/**
 * This node's listener journal ({@link NodeListenersEntity} named by {@code fulcrum.node-name}) in the current cluster
 * incarnation: read at start, told of every listener added or removed at runtime.
 */
public final class ListenerJournal {
  /**
   * One ask at start-up. While nodes join, sharding hands shards over to them and drops the messages it buffered for a
   * shard on the move (Pekko: "dropping buffered messages during hand off"): an ask then gets no answer at all, so short
   * attempts leave room for several within the start's wait ({@code Bootstrap} is idempotent).
   */
  private static final Duration ATTEMPT = Duration.ofSeconds(2);

  private final JournalSettings settings;
  /** Names this node from the first cluster incarnation it joins with (its bound port, when that names it). */
  private final java.util.function.Function<ActorSystem<?>, String> naming;
  /** Fixed by the first attach, for the life of the process (a later incarnation on port 0 may bind another port). */
  private volatile String node;
  private volatile ClusterSharding sharding;
  private volatile ActorSystem<?> attachedTo;

  public ListenerJournal(JournalSettings settings, java.util.function.Function<ActorSystem<?>, String> naming) {
    this.settings = settings;
    this.naming = naming;
  }

  public String node() {
    return node;
  }

  public void attach(ActorSystem<?> system) {
    if (node == null) node = naming.apply(system);
    ClusterSharding s = ClusterSharding.get(system);
    // Not remembered (the cluster's default): nothing needs a node's listener journal running but its node's asks,
    // and a remembered shard first reads its entity list from the journal, which a node busy starting took longer for
    // than Pekko's 5 s (the shard then stops and backs off), leaving a starting node without an answer.
    s.init(Entity.of(NodeListenersEntity.TYPE_KEY, ctx -> NodeListenersEntity.create(ctx.getEntityId(), settings))
        .withSettings(ClusterShardingSettings.create(system).withRememberEntities(false)));
    sharding = s;
    attachedTo = system;
  }

  /** An incarnation that ends after the next one attached leaves the next one's sharding alone. */
  public void detach(ActorSystem<?> system) {
    if (attachedTo == system) {
      attachedTo = null;
      sharding = null;
    }
  }

  private EntityRef<NodeListenersEntity.Command> entity() {
    ClusterSharding s = sharding;
    if (s == null) throw new IllegalStateException("this node is not a member of the cluster now; its listener journal cannot be written");
    return s.entityRefFor(NodeListenersEntity.TYPE_KEY, node);
  }

  /** The journal's listeners, or the config's as its first state; asked again while the entity does not answer. */
  public CompletionStage<NodeListenersEntity.BootstrapResult> bootstrap(List<ListenerDefinition> config, Duration timeout) {
    boolean apply = settings.bootstrap() == JournalSettings.Bootstrap.CONFIG;
    long deadline = System.nanoTime() + timeout.toNanos();
    return patiently(() -> entity().ask(r -> new NodeListenersEntity.Bootstrap(config, apply, r), ATTEMPT), deadline);
  }

  /** Journals a listener added at runtime; fails when the journal did not confirm in time. */
  public CompletionStage<NodeListenersState> added(ListenerDefinition listener, String origin) {
    return write(() -> entity().ask(r -> new NodeListenersEntity.Add(listener, origin, r), writeTimeout()));
  }

  /** Journals a listener removed at runtime; fails when the journal did not confirm in time. */
  public CompletionStage<NodeListenersState> removed(String name, String origin) {
    return write(() -> entity().ask(r -> new NodeListenersEntity.Remove(name, origin, r), writeTimeout()));
  }

  private Duration writeTimeout() {
    return settings.writeTimeout().plus(Duration.ofSeconds(1));
  }

  private static CompletionStage<NodeListenersState> write(Supplier<CompletionStage<NodeListenersState>> ask) {
    try {
      return ask.get();
    } catch (IllegalStateException notAMember) {
      return CompletableFuture.failedFuture(notAMember);
    }
  }

  private static <T> CompletionStage<T> patiently(Supplier<CompletionStage<T>> ask, long deadline) {
    return dev.fulcrum.cluster.StartupAsk.patiently("this node's listener journal", ask, deadline);
  }
}
