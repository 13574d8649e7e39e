package dev.fulcrum.events;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.backend.Health;
import dev.fulcrum.config.HostPort;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.stream.javadsl.Sink;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** The hub alone, without sockets: delivery order, filters, acks, the bounded drop-oldest buffer, clean-up. */
class EventHubTest {
  private static final ActorTestKit kit = ActorTestKit.create("event-hub-test");
  private static final Duration WAIT = Duration.ofSeconds(5);

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  private record Hub(ActorRef<EventHub.Command> ref, AtomicLong dropped, AtomicInteger subscribers) {}

  private static Hub hub() {
    AtomicLong dropped = new AtomicLong();
    AtomicInteger subscribers = new AtomicInteger();
    return new Hub(kit.spawn(EventHub.create(dropped, subscribers)), dropped, subscribers);
  }

  private static FulcrumEvent health(String pool, int n) {
    return new FulcrumEvent.BackendHealthChanged(pool, new HostPort("127.0.0.1", n), Health.UP, Health.DOWN, "test " + n, Instant.now());
  }

  private static void subscribe(Hub hub, ActorRef<EventHub.Delivery> subscriber, EventFilter filter, int buffer) {
    TestProbe<EventHub.Subscribed> confirmed = kit.createTestProbe();
    hub.ref().tell(new EventHub.Subscribe(subscriber, filter, buffer, Optional.of(confirmed.getRef())));
    confirmed.expectMessageClass(EventHub.Subscribed.class);
  }

  /** Receives deliveries, acking each, until {@code count} events arrived. */
  private static List<FulcrumEvent> receive(TestProbe<EventHub.Delivery> probe, int count) {
    List<FulcrumEvent> events = new ArrayList<>();
    while (events.size() < count) {
      EventHub.Delivery d = probe.expectMessageClass(EventHub.Delivery.class, WAIT);
      events.addAll(d.events());
      d.ack();
    }
    return events;
  }

  @Test
  void aSnapshotComesBeforeTheLiveEventsPublishedWhileItWasGathered() {
    java.util.concurrent.CompletableFuture<List<FulcrumEvent>> gathered = new java.util.concurrent.CompletableFuture<>();
    AtomicInteger asked = new AtomicInteger();
    ActorRef<EventHub.Command> hub = kit.spawn(EventHub.create(new AtomicLong(), new AtomicInteger(), () -> {
      asked.incrementAndGet();
      return gathered;
    }));
    TestProbe<EventHub.Delivery> probe = kit.createTestProbe();
    TestProbe<EventHub.Subscribed> confirmed = kit.createTestProbe();
    hub.tell(new EventHub.Subscribe(probe.getRef(), EventFilter.kinds(FulcrumEvent.Kind.BACKEND_HEALTH).withPools("web"), 10,
        Optional.of(confirmed.getRef()), Optional.empty(), true));
    confirmed.expectMessageClass(EventHub.Subscribed.class);
    FulcrumEvent live = health("web", 3);
    hub.tell(new EventHub.Publish(live));
    hub.tell(new EventHub.Publish(health("api", 4)));
    probe.expectNoMessage(Duration.ofMillis(100));
    assertEquals(1, asked.get());
    FulcrumEvent snapUp = new FulcrumEvent.BackendHealthChanged("web", new HostPort("127.0.0.1", 1), Health.UP, Health.UP, "snapshot", Instant.now());
    FulcrumEvent snapDown = new FulcrumEvent.BackendHealthChanged("web", new HostPort("127.0.0.1", 2), Health.DOWN, Health.DOWN, "snapshot", Instant.now());
    FulcrumEvent otherPool = new FulcrumEvent.BackendHealthChanged("api", new HostPort("127.0.0.1", 5), Health.UP, Health.UP, "snapshot", Instant.now());
    FulcrumEvent version = new FulcrumEvent.PoolChanged("web", 3, "snapshot", "", null, 0, Instant.now());
    gathered.complete(List.of(version, snapUp, snapDown, otherPool));
    List<FulcrumEvent> events = receive(probe, 4);
    assertEquals(List.of(snapUp, snapDown), events.subList(0, 2), "the snapshot, as the filter wants it, first");
    FulcrumEvent.SnapshotEnd end = assertInstanceOf(FulcrumEvent.SnapshotEnd.class, events.get(2));
    assertEquals(2, end.count());
    assertTrue(end.problem().isEmpty());
    assertEquals(live, events.get(3), "then the live event that waited");
    FulcrumEvent later = health("web", 6);
    hub.tell(new EventHub.Publish(later));
    assertEquals(List.of(later), receive(probe, 1));
    // no snapshot unless asked
    TestProbe<EventHub.Delivery> plain = kit.createTestProbe();
    hub.tell(new EventHub.Subscribe(plain.getRef(), EventFilter.ALL, 10, Optional.of(confirmed.getRef())));
    confirmed.expectMessageClass(EventHub.Subscribed.class);
    hub.tell(new EventHub.Publish(later));
    assertEquals(List.of(later), receive(plain, 1));
    assertEquals(1, asked.get());
  }

  @Test
  void aSnapshotThatCannotBeGatheredSaysSoAndTheLiveEventsFollow() {
    ActorRef<EventHub.Command> hub = kit.spawn(EventHub.create(new AtomicLong(), new AtomicInteger(),
        () -> java.util.concurrent.CompletableFuture.failedFuture(new java.util.concurrent.TimeoutException("router did not answer"))));
    TestProbe<EventHub.Delivery> probe = kit.createTestProbe();
    hub.tell(new EventHub.Subscribe(probe.getRef(), EventFilter.ALL, 10, Optional.empty(), Optional.empty(), true));
    List<FulcrumEvent> events = receive(probe, 1);
    FulcrumEvent.SnapshotEnd end = assertInstanceOf(FulcrumEvent.SnapshotEnd.class, events.get(0));
    assertEquals(0, end.count());
    assertTrue(end.problem().orElseThrow().contains("router did not answer"), end.toString());
    FulcrumEvent live = health("web", 1);
    hub.tell(new EventHub.Publish(live));
    assertEquals(List.of(live), receive(probe, 1));
  }

  @Test
  void deliversInOrderWhatTheFilterWants() {
    Hub hub = hub();
    TestProbe<EventHub.Delivery> all = kit.createTestProbe();
    TestProbe<EventHub.Delivery> webHealth = kit.createTestProbe();
    subscribe(hub, all.getRef(), EventFilter.ALL, 100);
    subscribe(hub, webHealth.getRef(), EventFilter.kinds(FulcrumEvent.Kind.BACKEND_HEALTH).withPools("web"), 100);
    List<FulcrumEvent> published = new ArrayList<>();
    for (int i = 1; i <= 50; i++) {
      FulcrumEvent e = i % 5 == 0
          ? new FulcrumEvent.MemberChanged("pekko://fulcrum@127.0.0.1:" + i, "up", false, Instant.now())
          : health(i % 2 == 0 ? "web" : "api", i);
      published.add(e);
      hub.ref().tell(new EventHub.Publish(e));
    }
    assertEquals(published, receive(all, 50));
    List<FulcrumEvent> expected = published.stream()
        .filter(e -> e.kind() == FulcrumEvent.Kind.BACKEND_HEALTH && "web".equals(e.pool())).toList();
    assertEquals(20, expected.size());
    assertEquals(expected, receive(webHealth, expected.size()));
    all.expectNoMessage(Duration.ofMillis(100));
    webHealth.expectNoMessage(Duration.ofMillis(100));
  }

  @Test
  void aSubscriberThatNeverAcksCostsABoundedBufferAndItsDropsAreCounted() {
    Hub hub = hub();
    TestProbe<EventHub.Delivery> stalled = kit.createTestProbe();
    TestProbe<EventHub.Delivery> healthy = kit.createTestProbe();
    subscribe(hub, stalled.getRef(), EventFilter.ALL, 10);
    subscribe(hub, healthy.getRef(), EventFilter.ALL, 10);
    List<FulcrumEvent> published = new ArrayList<>();
    for (int i = 1; i <= 1000; i++) {
      FulcrumEvent e = health("web", i);
      published.add(e);
      hub.ref().tell(new EventHub.Publish(e));
      // the healthy one keeps up: it acks each delivery as it comes
      if (i % 10 == 0) {
        while (true) {
          EventHub.Delivery d = healthy.receiveMessage(WAIT);
          d.ack();
          if (d.events().get(d.events().size() - 1).equals(e)) break;
        }
      }
    }
    // the stalled one got the first event and nothing since: one delivery in its mailbox, ten events buffered
    EventHub.Delivery first = stalled.expectMessageClass(EventHub.Delivery.class);
    assertEquals(List.of(published.get(0)), first.events());
    stalled.expectNoMessage(Duration.ofMillis(100));
    TestProbe<EventHub.Subscribers> info = kit.createTestProbe();
    hub.ref().tell(new EventHub.GetSubscribers(info.getRef()));
    EventHub.Subscribers subs = info.receiveMessage();
    EventHub.Subscriber s = subs.subscribers().stream().filter(x -> x.path().equals(stalled.getRef().path().toString())).findFirst().orElseThrow();
    assertEquals(10, s.buffered());
    assertEquals(989, s.dropped());
    assertTrue(s.awaitingAck());
    assertEquals(0, subs.subscribers().stream().filter(x -> x.path().equals(healthy.getRef().path().toString())).findFirst().orElseThrow().dropped());
    assertEquals(989, hub.dropped().get());
    assertEquals(989, subs.droppedTotal());
    // once it acks it gets the drop count, then the newest ten, in order
    first.ack();
    EventHub.Delivery next = stalled.expectMessageClass(EventHub.Delivery.class);
    FulcrumEvent.EventsDropped gap = assertInstanceOf(FulcrumEvent.EventsDropped.class, next.events().get(0));
    assertEquals(989, gap.count());
    assertEquals(989, gap.total());
    assertEquals(published.subList(990, 1000), next.events().subList(1, 11));
  }

  @Test
  void unsubscribeAndDeathEndTheSubscription() {
    Hub hub = hub();
    TestProbe<EventHub.Delivery> leaving = kit.createTestProbe();
    TestProbe<EventHub.Delivery> staying = kit.createTestProbe();
    ActorRef<EventHub.Delivery> mortal = kit.spawn(Behaviors.<EventHub.Delivery>receiveMessage(d -> {
      d.ack();
      return Behaviors.same();
    }));
    subscribe(hub, leaving.getRef(), EventFilter.ALL, 10);
    subscribe(hub, staying.getRef(), EventFilter.ALL, 10);
    subscribe(hub, mortal, EventFilter.ALL, 10);
    assertEquals(3, hub.subscribers().get());
    hub.ref().tell(new EventHub.Unsubscribe(leaving.getRef()));
    kit.stop(mortal);
    // the hub hears of the death by its watch
    dev.fulcrum.testing.Eventually.await(WAIT, "the stopped subscriber dropped", () -> hub.subscribers().get() == 1);
    hub.ref().tell(new EventHub.Publish(health("web", 1)));
    assertEquals(1, receive(staying, 1).size());
    leaving.expectNoMessage(Duration.ofMillis(200));
  }

  @Test
  void aSourceIsPacedByItsConsumerAndDropsTheOldestItCouldNotTake() throws Exception {
    AtomicLong dropped = new AtomicLong();
    AtomicInteger count = new AtomicInteger();
    ActorRef<EventHub.Command> hub = kit.spawn(EventHub.create(dropped, count));
    ManualSubscriber<FulcrumEvent> consumer = new ManualSubscriber<>();
    org.apache.pekko.stream.javadsl.Source.fromGraph(new HubSource(hub, EventFilter.ALL, 5, "test stream", false))
        .runWith(Sink.fromSubscriber(consumer), kit.system());
    dev.fulcrum.testing.Eventually.await(WAIT, "subscribed", () -> count.get() == 1);
    List<FulcrumEvent> published = new ArrayList<>();
    for (int i = 1; i <= 100; i++) {
      published.add(health("web", i));
      hub.tell(new EventHub.Publish(published.get(i - 1)));
    }
    // nothing pulled yet: the first event waits in the stage, five more in the hub, the rest were dropped
    dev.fulcrum.testing.Eventually.await(WAIT, "drops counted", () -> dropped.get() == 94);
    assertEquals(0, consumer.receivedCount());
    consumer.request(7);
    assertEquals(published.get(0), consumer.next(WAIT));
    FulcrumEvent.EventsDropped gap = assertInstanceOf(FulcrumEvent.EventsDropped.class, consumer.next(WAIT));
    assertEquals(94, gap.count());
    List<FulcrumEvent> rest = new ArrayList<>();
    for (int i = 0; i < 5; i++) rest.add(consumer.next(WAIT));
    assertEquals(published.subList(95, 100), rest);
    consumer.cancel();
    dev.fulcrum.testing.Eventually.await(WAIT, "cancelling unsubscribes", () -> count.get() == 0);
  }

  @Test
  void badBufferSizesAndFiltersAreRefusedWithTheirName() {
    TestProbe<EventHub.Delivery> probe = kit.createTestProbe();
    assertTrue(assertThrows(IllegalArgumentException.class, () -> new EventHub.Subscribe(probe.getRef(), EventFilter.ALL, 0))
        .getMessage().contains("bufferSize 0"));
    EventFilter.Parsed bad = EventFilter.parse(Optional.of("pool-changed,nope"), Optional.empty());
    assertNull(bad.filter());
    assertTrue(bad.problem().startsWith("query parameter 'kinds': unknown kind 'nope'"), bad.problem());
    EventFilter.Parsed good = EventFilter.parse(Optional.of("pool-changed, backend-health"), Optional.of("web,api"));
    assertEquals(Set.of(FulcrumEvent.Kind.POOL_CHANGED, FulcrumEvent.Kind.BACKEND_HEALTH), good.filter().kinds());
    assertEquals(Set.of("web", "api"), good.filter().pools());
  }
}
