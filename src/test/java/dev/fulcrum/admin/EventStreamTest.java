package dev.fulcrum.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fulcrum.Fulcrum;
import dev.fulcrum.testing.AdminClient;
import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.HttpBackend;
import dev.fulcrum.testing.PoolHealth;
import dev.fulcrum.testing.SseClient;
import dev.fulcrum.testing.TestConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code GET /api/events} over real connections: pool changes as SSE with their journal offsets as ids, a reconnect
 * with {@code Last-Event-ID} while changes keep coming that misses none and repeats none, heartbeats, filters, health
 * transitions, clean-up when the client goes, and bad requests refused with their reason. Open to reads while a token
 * guards changes.
 */
class EventStreamTest {
  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final String TOKEN = "t0ken";
  private static final ObjectMapper JSON = new ObjectMapper();

  private static ActorSystem<Void> backends;
  private static HttpBackend one;
  private static HttpBackend two;
  private static Fulcrum fulcrum;
  private static AdminClient admin;

  @BeforeAll
  static void start() {
    backends = ActorSystem.create(Behaviors.empty(), "sse-backends");
    one = new HttpBackend(backends, r -> CompletableFuture.completedFuture(HttpResponse.create().withEntity("one")));
    two = new HttpBackend(backends, r -> CompletableFuture.completedFuture(HttpResponse.create().withEntity("two")));
    fulcrum = Fulcrum.start(TestConfig.of("""
        fulcrum.admin.token = "%s"
        fulcrum.events.heartbeat = 300ms
        fulcrum.health-check { interval = 200ms, rise = 1, fall = 1 }
        fulcrum.pools.web.backends = ["%s", "%s"]
        """.formatted(TOKEN, one.address(), two.address())));
    PoolHealth.awaitAllUp(fulcrum, "web", 2);
    admin = new AdminClient(fulcrum.adminAddress(), Optional.of(TOKEN));
  }

  @AfterAll
  static void stop() throws Exception {
    fulcrum.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
    backends.terminate();
  }

  private static JsonNode data(SseClient.Message m) {
    try {
      return JSON.readTree(m.data());
    } catch (Exception e) {
      throw new AssertionError("not JSON: " + m, e);
    }
  }

  /** The pool's start-up creation, which the node may still be reading from the journal when a test begins. */
  private static boolean creation(SseClient.Message m) {
    JsonNode d = data(m);
    return d.path("type").asText().equals("pool-created") && d.path("origin").asText().equals("config");
  }

  @Test
  void aReconnectWithLastEventIdMissesNothingAndRepeatsNothingWhileChangesGoOn() throws Exception {
    long before = admin.get("/api/pools/web").json().get("version").asLong();
    int changes = 30;
    AtomicInteger made = new AtomicInteger();
    List<SseClient.Message> received = new ArrayList<>();
    Thread writer;
    try (SseClient first = SseClient.open(fulcrum.adminAddress(), "/api/events?kinds=pool-changed&pools=web", Optional.empty())) {
      assertEquals(200, first.status());
      assertTrue(first.contentType().startsWith("text/event-stream"), first.contentType());
      first.awaitComment("subscribed", WAIT);
      // the subscription is listed with who made it
      JsonNode listed = admin.get("/api/events/subscribers").json().get("subscribers");
      boolean found = false;
      for (JsonNode s : listed) {
        found |= s.get("label").asText().startsWith("GET /api/events?kinds=pool-changed&pools=web from 127.0.0.1:");
      }
      assertTrue(found, listed.toString());
      writer = new Thread(() -> {
        for (int i = 1; i <= changes; i++) {
          // 2, 3, 2, 3...: each one a change
          AdminClient.Response r = admin.patch("/api/pools/web/backends/" + one.address(), "{\"weight\": " + (2 + i % 2) + "}");
          if (r.status() != 200) throw new AssertionError(r.toString());
          made.incrementAndGet();
        }
      }, "writer");
      writer.start();
      while (received.size() < 8) {
        SseClient.Message m = first.nextEvent(WAIT);
        if (!creation(m)) received.add(m);
      }
    }
    // changes go on while the client is away; it comes back with the last id it saw
    int atClose = made.get();
    Eventually.await(WAIT, "five changes while disconnected", () -> made.get() >= Math.min(changes, atClose + 5));
    String lastId = received.get(received.size() - 1).id();
    assertNotNull(lastId);
    try (SseClient second = SseClient.open(fulcrum.adminAddress(), "/api/events?kinds=pool-changed&pools=web", Optional.of(lastId))) {
      assertEquals(200, second.status());
      while (received.isEmpty() || data(received.get(received.size() - 1)).get("version").asLong() < before + changes) {
        received.add(second.nextEvent(WAIT));
      }
      writer.join(TimeUnit.SECONDS.toMillis(30));
      // nothing more, apart from heartbeats
      second.awaitComment("heartbeat", WAIT);
      second.awaitComment("heartbeat", WAIT);
    }
    List<Long> versions = new ArrayList<>();
    long previousId = 0;
    for (SseClient.Message m : received) {
      assertEquals("pool-changed", m.event());
      JsonNode d = data(m);
      assertEquals("pool-changed", d.get("kind").asText());
      assertEquals("web", d.get("pool").asText());
      assertEquals("weight-changed", d.get("type").asText());
      assertTrue(d.get("origin").asText().startsWith("admin-api"), d.toString());
      long id = Long.parseLong(m.id());
      assertEquals(id, d.get("offset").asLong());
      assertTrue(id > previousId, "ids must grow: " + received);
      previousId = id;
      versions.add(d.get("version").asLong());
    }
    List<Long> expected = new ArrayList<>();
    for (long v = before + 1; v <= before + changes; v++) expected.add(v);
    assertEquals(expected, versions, "every change once, in order");
    // the clients are gone: so are their subscriptions
    Eventually.await(WAIT, "no subscribers left", () -> admin.get("/api/events/subscribers").json().get("subscribers").isEmpty());
  }

  /** An id past the journal's end (a reset journal, another cluster's id) must not hold the live events back. */
  @Test
  void aLastEventIdTheJournalNeverReachedIsSaidAndLiveChangesStillFlow() {
    try (SseClient resumed = SseClient.open(fulcrum.adminAddress(), "/api/events?kinds=pool-changed&pools=web", Optional.of("999999999"))) {
      assertEquals(200, resumed.status());
      SseClient.Message failed = resumed.nextEvent(WAIT);
      assertEquals("resume-failed", failed.event(), failed.toString());
      assertTrue(data(failed).get("error").asText().contains("the journal has no event 999999999"), failed.toString());
      JsonNode pool = admin.get("/api/pools/web").json();
      long version = pool.get("version").asLong();
      int weight = 0;
      for (JsonNode b : pool.get("backends")) if (b.get("address").asText().equals(two.address().toString())) weight = b.get("weight").asInt();
      AdminClient.Response r = admin.patch("/api/pools/web/backends/" + two.address(), "{\"weight\": " + (weight == 4 ? 5 : 4) + "}");
      assertEquals(200, r.status(), r.toString());
      SseClient.Message change;
      do {
        change = resumed.nextEvent(WAIT);
      } while (creation(change) || data(change).get("version").asLong() <= version);
      assertEquals("weight-changed", data(change).get("type").asText(), change.toString());
    }
  }

  @Test
  void healthTransitionsFlowWithoutIdsAndAFilterKeepsOtherKindsOut() {
    try (SseClient health = SseClient.open(fulcrum.adminAddress(), "/api/events?kinds=backend-health", Optional.empty())) {
      health.awaitComment("subscribed", WAIT);
      two.stop();
      try {
        SseClient.Message m = health.nextEvent(WAIT);
        assertEquals("backend-health", m.event());
        assertEquals(null, m.id());
        JsonNode d = data(m);
        assertEquals("web", d.get("pool").asText());
        assertEquals(two.address(), d.get("backend").asText());
        assertEquals("up", d.get("from").asText());
        assertEquals("down", d.get("to").asText());
        // a change to the pool is not a health event
        assertEquals(200, admin.patch("/api/pools/web/backends/" + two.address(), "{\"weight\": 7}").status());
      } finally {
        two.start();
      }
      SseClient.Message up = health.nextEvent(WAIT);
      assertEquals("up", data(up).get("to").asText(), up.toString());
    }
  }

  /**
   * A route table's and a listener's live events say who made the change, as the table's history does: the table
   * replicates without its history, so its state carries the origin of the change that made its version.
   */
  @Test
  void routeAndListenerEventsCarryTheOriginTheHistoryShows() {
    String listener = "origins";
    try (SseClient stream = SseClient.open(fulcrum.adminAddress(), "/api/events?kinds=route-changed,listener-changed", Optional.empty())) {
      stream.awaitComment("subscribed", WAIT);
      AdminClient.Response added = admin.post("/api/listeners", "{\"name\": \"" + listener
          + "\", \"protocol\": \"http\", \"bind\": \"127.0.0.1:0\", \"routes\": [{\"pool\": \"web\"}]}");
      assertEquals(201, added.status(), added.toString());
      AdminClient.Response route = admin.post("/api/routes/" + listener, "{\"name\": \"x\", \"path\": \"/x\", \"pool\": \"web\"}");
      assertEquals(201, route.status(), route.toString());
      AdminClient.Response removed = admin.delete("/api/listeners/" + listener + "?drain=0s");
      assertEquals(200, removed.status(), removed.toString());
      JsonNode history = admin.get("/api/routes/" + listener + "/events").json();
      assertEquals(2, history.size(), history.toString());
      Map<Long, String> historyOrigins = Map.of(
          history.get(0).get("seq").asLong(), history.get(0).get("origin").asText(),
          history.get(1).get("seq").asLong(), history.get(1).get("origin").asText());
      String client = history.get(0).get("origin").asText();
      assertTrue(client.startsWith("admin-api 127.0.0.1"), history.toString());
      Map<Long, String> routeOrigins = new java.util.HashMap<>();
      Map<String, String> listenerOrigins = new java.util.LinkedHashMap<>();
      while (!listenerOrigins.containsKey("removed")) {
        SseClient.Message m = stream.nextEvent(WAIT);
        JsonNode d = data(m);
        if (!d.path("listener").asText().equals(listener)) continue;
        if (m.event().equals("route-changed")) routeOrigins.put(d.get("version").asLong(), d.get("origin").asText());
        else listenerOrigins.put(d.get("change").asText(), d.get("origin").asText());
      }
      assertEquals(historyOrigins, routeOrigins, "each version's origin as the history has it");
      assertEquals(Map.of("added", client, "draining", client, "removed", client), listenerOrigins);
    }
  }

  /** Pools come and go at runtime: a subscriber may filter by one that does not exist yet, and hears of its creation. */
  @Test
  void aFilterMayNameAPoolThatDoesNotExistYet() {
    try (SseClient later = SseClient.open(fulcrum.adminAddress(), "/api/events?kinds=pool-changed&pools=later", Optional.empty())) {
      assertEquals(200, later.status());
      later.awaitComment("subscribed", WAIT);
      AdminClient.Response created = admin.post("/api/pools", "{\"name\":\"later\",\"backends\":[{\"address\":\"" + one.address() + "\"}]}");
      assertEquals(201, created.status(), created.toString());
      try {
        JsonNode d = data(later.nextEvent(WAIT));
        assertEquals("later", d.get("pool").asText(), d.toString());
        assertEquals("pool-created", d.get("type").asText(), d.toString());
      } finally {
        assertEquals(204, admin.delete("/api/pools/later").status());
      }
    }
  }

  @Test
  void badRequestsAreRefusedWithTheirReason() {
    AdminClient anonymous = new AdminClient(fulcrum.adminAddress(), Optional.empty());
    AdminClient.Response badId = anonymous.send("GET", "/api/events", null, Optional.empty(), Map.of("Last-Event-ID", "abc"));
    assertEquals(400, badId.status());
    assertTrue(badId.error().contains("header 'Last-Event-ID'"), badId.toString());
    AdminClient.Response negative = anonymous.send("GET", "/api/events", null, Optional.empty(), Map.of("Last-Event-ID", "-3"));
    assertEquals(400, negative.status());
    AdminClient.Response badKind = anonymous.get("/api/events?kinds=pool-changed,everything");
    assertEquals(400, badKind.status());
    assertTrue(badKind.error().contains("query parameter 'kinds': unknown kind 'everything'"), badKind.toString());
    // a misspelt parameter would filter nothing without a word; a second value would be ignored
    AdminClient.Response misspelt = anonymous.get("/api/events?pool=web");
    assertEquals(400, misspelt.status(), misspelt.toString());
    assertEquals("query parameter 'pool' is not known here (did you mean pools?) (known: kinds, pools, snapshot)", misspelt.error());
    AdminClient.Response twice = anonymous.get("/api/events?kinds=pool-changed&kinds=backend-health");
    assertEquals(400, twice.status(), twice.toString());
    assertTrue(twice.error().startsWith("query parameter 'kinds' is given more than once"), twice.toString());
    AdminClient.Response badPool = anonymous.get("/api/events?pools=web,no%20pe");
    assertEquals(400, badPool.status(), badPool.toString());
    assertTrue(badPool.error().startsWith("query parameter 'pools': 'no pe' is not a valid name"), badPool.toString());
    AdminClient.Response badSnapshot = anonymous.get("/api/events?snapshot=yes");
    assertEquals(400, badSnapshot.status(), badSnapshot.toString());
    assertEquals("query parameter 'snapshot': must be true or false, got 'yes'", badSnapshot.error());
    AdminClient.Response subscribersParam = anonymous.get("/api/events/subscribers?kinds=pool-changed");
    assertEquals(400, subscribersParam.status(), subscribersParam.toString());
    assertEquals("query parameter 'kinds' is not known here (this call takes none)", subscribersParam.error());
    AdminClient.Response post = anonymous.post("/api/events", "{}");
    assertEquals(405, post.status());
    assertEquals(200, anonymous.get("/api/events/subscribers").status());
  }
}
