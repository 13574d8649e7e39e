package dev.fulcrum.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import dev.fulcrum.events.FulcrumEvent;
import dev.fulcrum.events.FulcrumEvents;
import dev.fulcrum.pool.PoolControl;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.AddressFromURIString;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.JoinSeedNodes;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's membership in the Fulcrum cluster, in an actor system of its own (the "incarnation") beside the node's
 * system that holds the listeners, the routers and the admin API. A Pekko node that was downed (by the split-brain
 * resolver on the minority side of a partition, after a long pause, or when it lost the majority) can never come back
 * under the same incarnation: its system shuts down. Here only the membership system does; the node keeps routing with
 * its last pool states and keeps checking its backends, refuses changes (read-only), and starts a new incarnation at
 * the same address that joins the cluster again, retrying until a member answers. A rejoining incarnation joins only
 * the other seed nodes, never itself: on the minority side of a partition, forming a cluster of its own would run a
 * second copy of every pool's entity.
 */
public final class Membership {
  private static final Logger log = LoggerFactory.getLogger(Membership.class);
  /** How long after an incarnation ended the next one starts (the old one's port must be free again). */
  private static final Duration REJOIN_DELAY = Duration.ofSeconds(1);

  private final ActorSystem<Void> node;
  private final Config config;
  private final PoolControl pools;
  private final List<Address> otherSeeds;
  private volatile ActorSystem<Void> current;
  private volatile boolean stopping;
  private int incarnations;

  private Membership(ActorSystem<Void> node, Config config, PoolControl pools) {
    this.node = node;
    this.config = config;
    this.pools = pools;
    String self = config.getString("pekko.remote.artery.canonical.hostname") + ":" + config.getInt("pekko.remote.artery.canonical.port");
    this.otherSeeds = config.getStringList("pekko.cluster.seed-nodes").stream()
        .map(AddressFromURIString::parse)
        .filter(a -> !(a.host().getOrElse(() -> "") + ":" + a.port().getOrElse(() -> -1)).equals(self))
        .toList();
    // The node stops (or crashes, in tests): its membership goes with it, without rejoining.
    node.getWhenTerminated().thenRun(() -> {
      stopping = true;
      ActorSystem<Void> last = current;
      if (last != null) last.terminate();
    });
  }

  /**
   * Starts the first incarnation, joining the configured seed nodes as Pekko does (the first seed forms the cluster
   * when no other answers; no seeds: a cluster of one), and attaches the pools' control plane to it. Fails as
   * {@link ActorSystem#create} does, e.g. when the cluster port is taken.
   */
  public static Membership start(ActorSystem<Void> node, Config config, PoolControl pools, CompletableFuture<Done> attached) {
    Membership membership = new Membership(node, config, pools);
    ActorSystem<Void> first = ActorSystem.create(Behaviors.empty(), "fulcrum", config);
    membership.begin(first);
    ClusterStart.join(first);
    pools.attach(first).whenComplete((done, failure) -> {
      if (failure == null) attached.complete(done);
      else attached.completeExceptionally(failure);
    });
    return membership;
  }

  /** The incarnation of the moment (it may be shutting down or still joining). */
  public ActorSystem<Void> current() {
    return current;
  }

  private void begin(ActorSystem<Void> incarnation) {
    current = incarnation;
    incarnations++;
    FulcrumEvents events = FulcrumEvents.get(node);
    events.link(incarnation);
    incarnation.systemActorOf(MemberEvents.create(events), "member-events", org.apache.pekko.actor.typed.Props.empty());
    String self = Cluster.get(incarnation).selfMember().address().toString();
    int number = incarnations;
    org.apache.pekko.cluster.Cluster.get(org.apache.pekko.actor.typed.javadsl.Adapter.toClassic(incarnation)).registerOnMemberUp(() -> {
      if (number > 1) log.info("rejoined the cluster as {}; changes through this node work again", Cluster.get(incarnation).selfMember().address());
    });
    incarnation.getWhenTerminated().thenRun(() -> {
      pools.detach(incarnation);
      events.publish(new FulcrumEvent.MemberChanged(self, "left", true, java.time.Instant.now()));
      if (stopping) return;
      log.warn("this node is no longer a member of the cluster (downed by the split-brain resolver, or it lost the "
          + "majority): it keeps routing with its last pool states and checking its backends, refuses changes, and "
          + "rejoins by itself");
      scheduleRejoin();
    });
  }

  private void scheduleRejoin() {
    if (stopping) return;
    node.scheduler().scheduleOnce(REJOIN_DELAY, this::rejoin, node.executionContext());
  }

  private void rejoin() {
    if (stopping) return;
    ActorSystem<Void> incarnation;
    try {
      // No seed nodes in the config: the incarnation is told whom to join, and that list leaves this node out.
      incarnation = ActorSystem.create(Behaviors.empty(), "fulcrum",
          config.withValue("pekko.cluster.seed-nodes", ConfigValueFactory.fromIterable(List.of())));
    } catch (RuntimeException e) {
      log.warn("cannot start a new cluster incarnation yet ({}); trying again", e.getMessage());
      scheduleRejoin();
      return;
    }
    begin(incarnation);
    Cluster cluster = Cluster.get(incarnation);
    if (otherSeeds.isEmpty()) {
      cluster.manager().tell(new org.apache.pekko.cluster.typed.Join(cluster.selfMember().address()));
    } else {
      cluster.manager().tell(new JoinSeedNodes(otherSeeds));
    }
    pools.attach(incarnation).whenComplete((done, failure) -> {
      if (failure != null) {
        log.warn("the new cluster incarnation cannot reach the journal ({}); starting another", failure.getMessage());
        incarnation.terminate();
      }
    });
  }

  /** Leaves the cluster gracefully (entities hand over to other nodes) and ends the membership for good. */
  public CompletionStage<Done> stop() {
    stopping = true;
    ActorSystem<Void> last = current;
    if (last == null) return CompletableFuture.completedFuture(Done.getInstance());
    return CoordinatedShutdown.get(last).runAll(CoordinatedShutdown.unknownReason());
  }

  /** The settings for the node's own actor system: the same config, but a plain local actor system. */
  public static Config nodeConfig(Config config) {
    return ConfigFactory.parseString("pekko.actor.provider = local").withFallback(config);
  }
}
