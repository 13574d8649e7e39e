package dev.fulcrum.events;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

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
