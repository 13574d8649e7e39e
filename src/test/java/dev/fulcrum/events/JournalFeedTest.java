package dev.fulcrum.events;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import dev.fulcrum.Fulcrum;
import dev.fulcrum.cluster.Membership;
import dev.fulcrum.config.HostPort;
import dev.fulcrum.config.JournalSettings;
import dev.fulcrum.pool.PoolEntity;
import dev.fulcrum.routing.StrategyKind;
import dev.fulcrum.testing.TestConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.persistence.jdbc.testkit.javadsl.SchemaUtils;
import org.junit.jupiter.api.Test;

/**
 * The journal feed across cluster incarnations: a node downed and rejoining goes on from the last change it published,
 * so its subscribers get what was written meanwhile, once each, in order.
 */
class JournalFeedTest {
  private static final Duration WAIT = Duration.ofSeconds(20);

  @Test
  void aNewIncarnationCatchesUpFromTheLastPublishedChange() throws Exception {
    Config config = Fulcrum.withDefaults(TestConfig.of(""));
    JournalSettings journal = JournalSettings.parse(config);
    ActorTestKit node = ActorTestKit.create("feed-node", Membership.nodeConfig(config));
    try {
      TestProbe<EventHub.Delivery> probe = node.createTestProbe();
      TestProbe<EventHub.Subscribed> confirmed = node.createTestProbe();
      FulcrumEvents events = FulcrumEvents.get(node.system());
      events.hub().tell(new EventHub.Subscribe(probe.getRef(), EventFilter.kinds(FulcrumEvent.Kind.POOL_CHANGED), 100,
          Optional.of(confirmed.getRef())));
      confirmed.expectMessageClass(EventHub.Subscribed.class);
      JournalFeed feed = new JournalFeed(events, journal.readJournal());

      ActorSystem<Void> first = incarnation(config);
      ActorRef<PoolEntity.Command> pool = first.systemActorOf(PoolEntity.create("feed", journal, s -> {}), "feed", org.apache.pekko.actor.typed.Props.empty());
      feed.start(first);
      // the feed starts at the journal's end: wait for it before the first change, which it must then see
      dev.fulcrum.testing.Eventually.await(WAIT, "the journal's end found", () -> feed.lastOffset() >= 0);
      change(first, pool, r -> new PoolEntity.Create(StrategyKind.ROUND_ROBIN, List.of(), r));
      change(first, pool, r -> new PoolEntity.AddBackend(new HostPort("127.0.0.1", 9001), 1, r));
      assertEquals(List.of(1L, 2L), versions(probe, 2));
      first.terminate();
      first.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);

      // changes while this node is in no cluster (another node makes them): the next incarnation catches up
      ActorSystem<Void> second = incarnation(config);
      try {
        ActorRef<PoolEntity.Command> again = second.systemActorOf(PoolEntity.create("feed", journal, s -> {}), "feed", org.apache.pekko.actor.typed.Props.empty());
        change(second, again, r -> new PoolEntity.SetWeight(new HostPort("127.0.0.1", 9001), 3, r));
        change(second, again, r -> new PoolEntity.Drain(new HostPort("127.0.0.1", 9001), r));
        probe.expectNoMessage(Duration.ofSeconds(1));
        feed.start(second);
        assertEquals(List.of(3L, 4L), versions(probe, 2));
        change(second, again, r -> new PoolEntity.Undrain(new HostPort("127.0.0.1", 9001), r));
        assertEquals(List.of(5L), versions(probe, 1));
        probe.expectNoMessage(Duration.ofSeconds(1));
      } finally {
        second.terminate();
        second.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
      }
    } finally {
      node.shutdownTestKit();
    }
  }

  /**
   * The live query polls the database several times a second: a node runs it only while a subscription wants journaled
   * changes, and a subscription confirmed is one that sees every change committed after it.
   */
  @Test
  void readsTheJournalOnlyWhileSomeoneWantsItsChanges() throws Exception {
    Config config = Fulcrum.withDefaults(TestConfig.of(""));
    JournalSettings journal = JournalSettings.parse(config);
    ActorTestKit node = ActorTestKit.create("idle-feed-node", Membership.nodeConfig(config));
    ActorSystem<Void> cluster = incarnation(config);
    try {
      FulcrumEvents events = FulcrumEvents.get(node.system());
      JournalFeed feed = new JournalFeed(events, journal.readJournal());
      ActorRef<PoolEntity.Command> pool = cluster.systemActorOf(PoolEntity.create("idle", journal, s -> {}), "idle", org.apache.pekko.actor.typed.Props.empty());
      feed.start(cluster);
      change(cluster, pool, r -> new PoolEntity.Create(StrategyKind.ROUND_ROBIN, List.of(), r));
      // a subscription to events that are not journaled wants no query either
      TestProbe<EventHub.Delivery> health = node.createTestProbe();
      subscribe(node, events, health.getRef(), EventFilter.kinds(FulcrumEvent.Kind.BACKEND_HEALTH));
      assertFalse(feed.following());
      // nor did pekko-persistence-jdbc start the actor that polls the journal's sequence once anything reads by tag
      assertThrows(java.util.concurrent.ExecutionException.class, () -> org.apache.pekko.actor.typed.javadsl.Adapter.toClassic(cluster)
          .actorSelection("/system/jdbc-read-journal.pekko-persistence-jdbc-journal-sequence-actor")
          .resolveOne(Duration.ofSeconds(1)).toCompletableFuture().get(5, TimeUnit.SECONDS));

      TestProbe<EventHub.Delivery> probe = node.createTestProbe();
      subscribe(node, events, probe.getRef(), EventFilter.kinds(FulcrumEvent.Kind.POOL_CHANGED));
      assertTrue(feed.following());
      // confirmed: the next change reaches the subscriber; the one before, committed while nobody listened, does not
      change(cluster, pool, r -> new PoolEntity.AddBackend(new HostPort("127.0.0.1", 9001), 1, r));
      assertEquals(List.of(2L), versions(probe, 1));

      events.hub().tell(new EventHub.Unsubscribe(probe.getRef()));
      dev.fulcrum.testing.Eventually.await(WAIT, "the query stopped", () -> !feed.following());
      change(cluster, pool, r -> new PoolEntity.SetWeight(new HostPort("127.0.0.1", 9001), 3, r));

      TestProbe<EventHub.Delivery> again = node.createTestProbe();
      subscribe(node, events, again.getRef(), EventFilter.ALL);
      change(cluster, pool, r -> new PoolEntity.Drain(new HostPort("127.0.0.1", 9001), r));
      assertEquals(List.of(4L), versions(again, 1));
      again.expectNoMessage(Duration.ofSeconds(1));
    } finally {
      cluster.terminate();
      cluster.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
      node.shutdownTestKit();
    }
  }

  /**
   * Finding the journal's end takes a query: a change written after the subscription came but before that query ran
   * is the subscription's, so the live query starts before it (a change right after a page opened its event stream).
   */
  @Test
  void theQueryStartsBeforeAChangeWrittenAfterTheSubscriptionCame() throws Exception {
    Config config = Fulcrum.withDefaults(TestConfig.of(""));
    JournalSettings journal = JournalSettings.parse(config);
    ActorSystem<Void> cluster = incarnation(config);
    try {
      ActorRef<PoolEntity.Command> pool = cluster.systemActorOf(PoolEntity.create("late", journal, s -> {}), "late", org.apache.pekko.actor.typed.Props.empty());
      change(cluster, pool, r -> new PoolEntity.Create(StrategyKind.ROUND_ROBIN, List.of(), r));
      long before = end(cluster, journal, Long.MAX_VALUE);
      long wantedAt = System.currentTimeMillis();
      dev.fulcrum.testing.Eventually.await(WAIT, "the clock past the subscription", () -> System.currentTimeMillis() > wantedAt);
      change(cluster, pool, r -> new PoolEntity.AddBackend(new HostPort("127.0.0.1", 9001), 1, r));
      assertTrue(end(cluster, journal, Long.MAX_VALUE) > before, "the change is in the journal");
      assertEquals(before, end(cluster, journal, wantedAt), "the query starts before the change written after the subscription");
    } finally {
      cluster.terminate();
      cluster.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  private static long end(ActorSystem<?> cluster, JournalSettings journal, long wantedAt) throws Exception {
    return JournalFeed.end(cluster, journal.readJournal(), 0, wantedAt).toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  private static void subscribe(ActorTestKit node, FulcrumEvents events, ActorRef<EventHub.Delivery> subscriber, EventFilter filter) {
    TestProbe<EventHub.Subscribed> confirmed = node.createTestProbe();
    events.hub().tell(new EventHub.Subscribe(subscriber, filter, 100, Optional.of(confirmed.getRef())));
    confirmed.expectMessageClass(EventHub.Subscribed.class, WAIT);
  }

  private static ActorSystem<Void> incarnation(Config config) throws Exception {
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "fulcrum", config);
    SchemaUtils.createIfNotExists(system).toCompletableFuture().get(30, TimeUnit.SECONDS);
    return system;
  }

  private static void change(ActorSystem<?> system, ActorRef<PoolEntity.Command> pool,
      java.util.function.Function<ActorRef<PoolEntity.Reply>, PoolEntity.Command> command) throws Exception {
    PoolEntity.Reply reply = org.apache.pekko.actor.typed.javadsl.AskPattern.<PoolEntity.Command, PoolEntity.Reply>ask(
            pool, command::apply, Duration.ofSeconds(10), system.scheduler())
        .toCompletableFuture().get(15, TimeUnit.SECONDS);
    assertInstanceOf(PoolEntity.Ok.class, reply, reply.toString());
  }

  private static List<Long> versions(TestProbe<EventHub.Delivery> probe, int count) {
    List<Long> versions = new ArrayList<>();
    while (versions.size() < count) {
      EventHub.Delivery d = probe.expectMessageClass(EventHub.Delivery.class, WAIT);
      d.events().forEach(e -> versions.add(((FulcrumEvent.PoolChanged) e).version()));
      d.ack();
    }
    return versions;
  }
}
