package dev.fulcrum.events;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.backend.Health;
import dev.fulcrum.config.HostPort;
import dev.fulcrum.pool.PoolEntity;
import dev.fulcrum.pool.PoolEvent;
import dev.fulcrum.testing.AdminClient;
import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.HttpBackend;
import dev.fulcrum.testing.PoolHealth;
import dev.fulcrum.testing.SseClient;
import dev.fulcrum.testing.PrometheusText;
import dev.fulcrum.testing.RawHttp;
import dev.fulcrum.testing.TestConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.stream.javadsl.Sink;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A running node's events reach a program's actor and stream: pool changes from the journal with their versions and
 * origins, a killed backend's health transition, an outlier's ejection and return; and subscribers that never read
 * drop and count while traffic and changes go on undelayed.
 */
class EventsTest {
  private static final Duration WAIT = Duration.ofSeconds(20);

  private ActorSystem<Void> backends;
  private HttpBackend a;
  private HttpBackend b;
  private HttpBackend c;
  private HttpBackend good;
  private HttpBackend bad;
  private Fulcrum fulcrum;
  private ActorTestKit kit;

  @BeforeEach
  void start() {
    backends = ActorSystem.create(Behaviors.empty(), "event-backends");
    a = ok("a");
    b = ok("b");
    c = ok("c");
    good = ok("good");
    bad = new HttpBackend(backends, r -> CompletableFuture.completedFuture(r.getUri().path().equals("/health")
        ? HttpResponse.create().withEntity("up")
        : HttpResponse.create().withStatus(500).withEntity("broken")));
    fulcrum = Fulcrum.start(TestConfig.of("""
        fulcrum.health-check { interval = 200ms, timeout = 1s, rise = 1, fall = 1 }
        fulcrum.pools.web.backends = ["%s", "%s"]
        fulcrum.pools.flaky {
          backends = ["%s", "%s"]
          outlier-detection { consecutive-5xx = 2, base-ejection-time = 1s, max-ejection-time = 10s }
        }
        fulcrum.listeners.http.main {
          bind = "127.0.0.1:0"
          routes = [{path = "/flaky", pool = flaky}, {pool = web}]
        }
        """.formatted(a.address(), b.address(), good.address(), bad.address())));
    PoolHealth.awaitAllUp(fulcrum, "web", 2);
    PoolHealth.awaitAllUp(fulcrum, "flaky", 2);
    // probes live in the node's own actor system, like a program's actors beside an embedded node
    kit = ActorTestKit.create(fulcrum.system());
  }

  @AfterEach
  void stop() throws Exception {
    fulcrum.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
    backends.terminate();
  }

  private HttpBackend ok(String name) {
    return new HttpBackend(backends, r -> CompletableFuture.completedFuture(HttpResponse.create().withEntity(name)));
  }

  private TestProbe<EventHub.Delivery> subscribe(EventFilter filter) {
    TestProbe<EventHub.Delivery> probe = kit.createTestProbe();
    TestProbe<EventHub.Subscribed> confirmed = kit.createTestProbe();
    fulcrum.eventHub().tell(new EventHub.Subscribe(probe.getRef(), filter, 100, Optional.of(confirmed.getRef())));
    confirmed.expectMessageClass(EventHub.Subscribed.class);
    return probe;
  }

  private static List<FulcrumEvent> receive(TestProbe<EventHub.Delivery> probe, int count) {
    return receive(probe, count, e -> false);
  }

  /** Exactly {@code count} events, apart from those {@code skip}ped (which may come in the same deliveries). */
  private static List<FulcrumEvent> receive(TestProbe<EventHub.Delivery> probe, int count, java.util.function.Predicate<FulcrumEvent> skip) {
    List<FulcrumEvent> events = new ArrayList<>();
    while (events.size() < count) {
      EventHub.Delivery d = probe.expectMessageClass(EventHub.Delivery.class, WAIT);
      d.events().stream().filter(skip.negate()).forEach(events::add);
      d.ack();
    }
    assertEquals(count, events.size(), events.toString());
    return events;
  }

  private static boolean isCreationFromConfig(FulcrumEvent e) {
    return e instanceof FulcrumEvent.PoolChanged p && p.type().equals("pool-created") && p.origin().equals("config") && p.version() == 1;
  }

  private static HostPort at(HttpBackend backend) {
    return HostPort.parse(backend.address(), false);
  }

  private PoolEntity.Reply change(String pool, java.util.function.BiFunction<PoolEntity.Request, ActorRef<PoolEntity.Reply>, PoolEntity.Change> command)
      throws Exception {
    return fulcrum.change(pool, PoolEntity.Request.of("events-test", Duration.ofSeconds(4)), command)
        .toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void poolChangesHealthTransitionsAndEjectionsReachSubscribersExactlyAndInOrder() throws Exception {
    TestProbe<EventHub.Delivery> changes = subscribe(EventFilter.kinds(FulcrumEvent.Kind.POOL_CHANGED).withPools("web"));
    TestProbe<EventHub.Delivery> webHealth = subscribe(EventFilter.kinds(FulcrumEvent.Kind.BACKEND_HEALTH).withPools("web"));
    TestProbe<EventHub.Delivery> outliers =
        subscribe(EventFilter.kinds(FulcrumEvent.Kind.BACKEND_EJECTED, FulcrumEvent.Kind.BACKEND_RETURNED));
    var stream = fulcrum.events(EventFilter.kinds(FulcrumEvent.Kind.POOL_CHANGED).withPools("web"), 100)
        .filter(e -> !isCreationFromConfig(e))
        .takeWhile(e -> !(e instanceof FulcrumEvent.PoolChanged p && p.type().equals("drain-started")), true)
        .toMat(Sink.seq(), org.apache.pekko.stream.javadsl.Keep.both())
        .run(fulcrum.system());
    stream.first().toCompletableFuture().get(10, TimeUnit.SECONDS);
    long before = fulcrum.state("web").toCompletableFuture().get().orElseThrow().version();

    // three changes: three events, in order, with versions and origin; nothing else
    assertInstanceOf(PoolEntity.Ok.class, change("web", (r, to) -> new PoolEntity.AddBackend(at(c), 1, r, to)));
    assertInstanceOf(PoolEntity.Ok.class, change("web", (r, to) -> new PoolEntity.SetWeight(at(a), 5, r, to)));
    assertInstanceOf(PoolEntity.Ok.class, change("web", (r, to) -> new PoolEntity.Drain(at(c), r, to)));
    // (the node may still be reading its start-up's creation of the pool from the journal)
    List<FulcrumEvent> seen = receive(changes, 3, EventsTest::isCreationFromConfig);
    List<String> types = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      FulcrumEvent.PoolChanged p = assertInstanceOf(FulcrumEvent.PoolChanged.class, seen.get(i));
      assertEquals("web", p.pool());
      assertEquals(before + 1 + i, p.version());
      assertEquals("events-test", p.origin());
      assertTrue(p.offset() > 0 && (i == 0 || p.offset() > seen.get(i - 1).offset()), seen.toString());
      types.add(p.type());
    }
    assertEquals(List.of("backend-added", "weight-changed", "drain-started"), types);
    assertEquals(at(c), ((PoolEvent.BackendAdded) ((FulcrumEvent.PoolChanged) seen.get(0)).event()).address());
    // the stream saw the same three
    List<FulcrumEvent> streamed = stream.second().toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertEquals(seen, streamed);
    changes.expectNoMessage(Duration.ofSeconds(1));

    // the new backend comes up; then a backend is killed: its transition to down, as this node saw it
    FulcrumEvent.BackendHealthChanged cUp = assertInstanceOf(FulcrumEvent.BackendHealthChanged.class, receive(webHealth, 1).get(0));
    assertEquals(at(c), cUp.backend());
    assertEquals(Health.UP, cUp.to());
    b.stop();
    FulcrumEvent.BackendHealthChanged bDown = assertInstanceOf(FulcrumEvent.BackendHealthChanged.class, receive(webHealth, 1).get(0));
    assertEquals(at(b), bDown.backend());
    assertEquals(Health.UP, bDown.from());
    assertEquals(Health.DOWN, bDown.to());
    assertTrue(!bDown.reason().isEmpty());

    // a backend answering 500 is ejected after two in a row, and returns after its second
    int port = fulcrum.httpListener("main").localAddress().getPort();
    Eventually.await(WAIT, "the failing backend ejected", () -> {
      get(port, "/flaky");
      return PoolHealth.status(fulcrum, "flaky").backends().stream().anyMatch(x -> x.health() == Health.EJECTED);
    });
    List<FulcrumEvent> outlier = receive(outliers, 2);
    FulcrumEvent.BackendEjected ejected = assertInstanceOf(FulcrumEvent.BackendEjected.class, outlier.get(0));
    assertEquals("flaky", ejected.pool());
    assertEquals(at(bad), ejected.backend());
    assertEquals(Duration.ofSeconds(1), ejected.duration());
    assertTrue(ejected.reason().contains("5xx"), ejected.reason());
    FulcrumEvent.BackendReturned returned = assertInstanceOf(FulcrumEvent.BackendReturned.class, outlier.get(1));
    assertEquals(at(bad), returned.backend());
    assertTrue(!returned.time().isBefore(ejected.time().plusMillis(900)), outlier.toString());
  }

  /** A program watching health asks for the current state first, by the Java API, an actor or SSE, and polls nothing. */
  @Test
  void aSnapshotTellsEachBackendsHealthAndEachPoolsVersionBeforeTheLiveEvents() throws Exception {
    b.stop();
    Eventually.await(WAIT, "backend b down", () -> PoolHealth.status(fulcrum, "web").backends().stream()
        .anyMatch(x -> x.address().equals(at(b)) && x.health() == Health.DOWN));
    long webVersion = fulcrum.state("web").toCompletableFuture().get().orElseThrow().version();

    // the Java API's stream
    var stream = fulcrum.events(EventFilter.kinds(FulcrumEvent.Kind.BACKEND_HEALTH, FulcrumEvent.Kind.POOL_CHANGED).withPools("web"), 100, true)
        .takeWhile(e -> !(e instanceof FulcrumEvent.BackendHealthChanged h && !h.reason().equals(FulcrumEvent.SNAPSHOT)), true)
        .toMat(Sink.seq(), org.apache.pekko.stream.javadsl.Keep.both())
        .run(fulcrum.system());
    stream.first().toCompletableFuture().get(10, TimeUnit.SECONDS);
    // the actor API
    TestProbe<EventHub.Delivery> actor = kit.createTestProbe();
    fulcrum.eventHub().tell(new EventHub.Subscribe(actor.getRef(), EventFilter.kinds(FulcrumEvent.Kind.BACKEND_HEALTH), 100,
        Optional.empty(), Optional.of("snapshot test"), true));
    // SSE
    try (SseClient sse = SseClient.open(fulcrum.adminAddress(), "/api/events?snapshot=true&pools=web", Optional.empty())) {
      assertEquals(200, sse.status());
      Map<String, String> sseHealth = new java.util.TreeMap<>();
      SseClient.Message m;
      while (!(m = sse.nextEvent(WAIT)).event().equals("snapshot-end")) {
        if (m.event().equals("backend-health")) {
          com.fasterxml.jackson.databind.JsonNode data = new com.fasterxml.jackson.databind.ObjectMapper().readTree(m.data());
          assertEquals("snapshot", data.path("reason").asText(), m.data());
          sseHealth.put(data.path("backend").asText(), data.path("to").asText());
        }
      }
      assertEquals(Map.of(a.address(), "up", b.address(), "down"), sseHealth, "every backend of web, as this node sees it");
      assertEquals(4, new com.fasterxml.jackson.databind.ObjectMapper().readTree(m.data()).path("count").asInt(),
          "the pool's version, its two backends and the route table: " + m.data());
    }

    List<FulcrumEvent> snapshot = new ArrayList<>();
    while (snapshot.stream().noneMatch(e -> e instanceof FulcrumEvent.SnapshotEnd)) {
      EventHub.Delivery d = actor.expectMessageClass(EventHub.Delivery.class, WAIT);
      snapshot.addAll(d.events());
      d.ack();
    }
    assertInstanceOf(FulcrumEvent.SnapshotEnd.class, snapshot.get(4), snapshot.toString());
    Map<String, Health> health = new java.util.TreeMap<>();
    snapshot.stream().filter(e -> e instanceof FulcrumEvent.BackendHealthChanged).map(e -> (FulcrumEvent.BackendHealthChanged) e)
        .forEach(h -> health.put(h.pool() + " " + h.backend(), h.to()));
    assertEquals(Map.of("web " + at(a), Health.UP, "web " + at(b), Health.DOWN, "flaky " + at(good), Health.UP,
        "flaky " + at(bad), Health.UP), health);

    // then live: b comes back, and every subscriber hears it after its snapshot
    b.start();
    FulcrumEvent.BackendHealthChanged back = assertInstanceOf(FulcrumEvent.BackendHealthChanged.class, receive(actor, 1).get(0));
    assertEquals(at(b), back.backend());
    assertEquals(Health.UP, back.to());
    List<FulcrumEvent> streamed = stream.second().toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);
    FulcrumEvent.PoolChanged version = assertInstanceOf(FulcrumEvent.PoolChanged.class, streamed.get(0));
    assertEquals(FulcrumEvent.SNAPSHOT, version.type());
    assertEquals(webVersion, version.version());
    assertEquals(List.of(Health.UP, Health.DOWN), streamed.subList(1, 3).stream()
        .map(e -> ((FulcrumEvent.BackendHealthChanged) e).to()).toList());
    assertEquals(3, assertInstanceOf(FulcrumEvent.SnapshotEnd.class, streamed.get(3)).count());
    assertEquals(back.backend(), ((FulcrumEvent.BackendHealthChanged) streamed.get(streamed.size() - 1)).backend());
  }

  @Test
  void routeAndListenerChangesPublishedFromTheClusterIncarnationReachTheNodesSubscribers() {
    TestProbe<EventHub.Delivery> probe = subscribe(EventFilter.kinds(FulcrumEvent.Kind.ROUTE_CHANGED, FulcrumEvent.Kind.LISTENER_CHANGED));
    // sharded entities run in the cluster incarnation: publishing there reaches the node's hub
    FulcrumEvents there = FulcrumEvents.get(fulcrum.clusterSystem());
    assertTrue(there == FulcrumEvents.get(fulcrum.system()));
    FulcrumEvent route = new FulcrumEvent.RouteChanged("main", 3, "route-added", "/api -> web", "java-api", 0, java.time.Instant.now());
    FulcrumEvent listener = new FulcrumEvent.ListenerChanged("extra", 1, "bound", "127.0.0.1:8088", "java-api", 0, java.time.Instant.now());
    there.publish(route);
    there.publish(listener);
    assertEquals(List.of(route, listener), receive(probe, 2));
  }

  @Test
  void stalledSubscribersDropAndCountWithoutDelayingTrafficOrChanges() throws Exception {
    // an actor that never handles its deliveries, and a stream nobody pulls
    // (it stops on an empty delivery, which only the test sends)
    ActorRef<EventHub.Delivery> stalled = fulcrum.system().systemActorOf(
        Behaviors.receiveMessage(d -> d.events().isEmpty() ? Behaviors.stopped() : Behaviors.same()), "stalled", Props.empty());
    TestProbe<EventHub.Subscribed> confirmed = kit.createTestProbe();
    fulcrum.eventHub().tell(new EventHub.Subscribe(stalled, EventFilter.ALL, 5, Optional.of(confirmed.getRef())));
    confirmed.expectMessageClass(EventHub.Subscribed.class);
    ManualSubscriber<FulcrumEvent> unread = new ManualSubscriber<>();
    fulcrum.events(EventFilter.ALL, 5).to(Sink.fromSubscriber(unread)).run(fulcrum.system())
        .toCompletableFuture().get(10, TimeUnit.SECONDS);
    TestProbe<EventHub.Delivery> reader = subscribe(EventFilter.kinds(FulcrumEvent.Kind.POOL_CHANGED));

    int port = fulcrum.httpListener("main").localAddress().getPort();
    long slowestChange = 0;
    long slowestRequest = 0;
    for (int i = 1; i <= 40; i++) {
      int weight = 1 + i % 2;
      long t0 = System.nanoTime();
      assertInstanceOf(PoolEntity.Ok.class, change("web", (r, to) -> new PoolEntity.SetWeight(at(a), weight + 1, r, to)));
      slowestChange = Math.max(slowestChange, System.nanoTime() - t0);
      for (int j = 0; j < 5; j++) {
        long t1 = System.nanoTime();
        String body = RawHttp.getOnce(port, "/");
        assertTrue(body.equals("a") || body.equals("b"), body);
        slowestRequest = Math.max(slowestRequest, System.nanoTime() - t1);
      }
    }
    // a reader that keeps up sees every change while the stalled ones drop theirs (the pools' bootstrap
    // events from config may still be on their way from the journal when it subscribes: those are not counted)
    List<FulcrumEvent> all = receive(reader, 40,
        e -> !((FulcrumEvent.PoolChanged) e).pool().equals("web") || ((FulcrumEvent.PoolChanged) e).origin().equals("config"));
    for (int i = 1; i < all.size(); i++) {
      assertTrue(all.get(i).offset() > all.get(i - 1).offset(), all.toString());
      assertEquals(((FulcrumEvent.PoolChanged) all.get(i - 1)).version() + 1, ((FulcrumEvent.PoolChanged) all.get(i)).version());
    }
    assertTrue(TimeUnit.NANOSECONDS.toMillis(slowestChange) < 2000, "slowest change " + slowestChange / 1_000_000 + " ms");
    assertTrue(TimeUnit.NANOSECONDS.toMillis(slowestRequest) < 1000, "slowest request " + slowestRequest / 1_000_000 + " ms");

    EventHub.Subscribers subs = FulcrumEvents.get(fulcrum.system()).subscribers(Duration.ofSeconds(3)).toCompletableFuture().get();
    EventHub.Subscriber actor = subs.subscribers().stream()
        .filter(s -> s.path().equals(stalled.path().toString())).findFirst().orElseThrow();
    assertEquals(5, actor.buffered());
    assertTrue(actor.dropped() >= 40 - 6, actor.toString());
    assertTrue(actor.awaitingAck());
    EventHub.Subscriber stream = subs.subscribers().stream()
        .filter(s -> s.bufferSize() == 5 && !s.path().equals(stalled.path().toString())).findFirst().orElseThrow();
    assertTrue(stream.dropped() >= 40 - 7, stream.toString());
    assertEquals(0, unread.receivedCount());
    // the drops are in the metrics and in the admin API
    AdminClient admin = new AdminClient(fulcrum.adminAddress(), Optional.empty());
    double dropped = PrometheusText.value(PrometheusText.parse(admin.get("/metrics").body()), "fulcrum_events_dropped_total");
    assertTrue(dropped >= actor.dropped() + stream.dropped(), "metric " + dropped);
    var listed = admin.get("/api/events/subscribers").json();
    assertTrue(listed.get("droppedTotal").asLong() >= actor.dropped() + stream.dropped(), listed.toString());
    assertTrue(listed.get("subscribers").size() >= 3, listed.toString());

    // a stopped subscriber is dropped by the hub; a cancelled stream unsubscribes
    int count = subs.subscribers().size();
    stalled.tell(new EventHub.Delivery(List.of(), fulcrum.eventHub(), stalled));
    unread.cancel();
    Eventually.await(WAIT, "both stalled subscribers gone", () -> {
      try {
        return FulcrumEvents.get(fulcrum.system()).subscribers(Duration.ofSeconds(3)).toCompletableFuture().get()
            .subscribers().size() == count - 2;
      } catch (Exception e) {
        return false;
      }
    });
  }

  private static final java.net.http.HttpClient HTTP = java.net.http.HttpClient.newHttpClient();

  /** A GET whatever its status. */
  private static int get(int port, String path) {
    try {
      return HTTP.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + path)).build(),
          java.net.http.HttpResponse.BodyHandlers.discarding()).statusCode();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }
}
