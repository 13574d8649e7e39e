package dev.fulcrum.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fulcrum.Fulcrum;
import dev.fulcrum.testing.AdminClient;
import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.TcpRelay;
import dev.fulcrum.testing.TestConfig;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.h2.tools.Server;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The journal database goes away under a running node (a real H2 database over TCP, behind a relay the test cuts):
 * every change answered while it is gone gets a truthful, bounded answer, a change answered "not applied" is never
 * applied later (the bug: two PATCHes answered 503 were persisted ~20 s later, when the database came back, because
 * Pekko keeps an entity's stash across the restarts after a failed write), reads keep answering from the replicated
 * state, history says plainly that the journal cannot be read, and a retried request with an idempotency key is
 * applied once.
 */
class JournalOutageTest {
  private static final String POOL = "web";
  private static final String BACKEND = "127.0.0.1:9";
  /** ask-timeout 4 s + the journal's write timeout 2 s + 0.5 s margin, and a little for a busy machine. */
  private static final long CHANGE_ANSWER_BOUND_MS = 7_000;

  private Server h2;
  private TcpRelay relay;
  private Fulcrum node;
  private AdminClient admin;

  private record Attempt(int weight, int status, String outcome, long millis) {}

  @BeforeEach
  void start() throws Exception {
    h2 = Server.createTcpServer("-tcpPort", "0", "-ifNotExists").start();
    relay = new TcpRelay(InetAddress.getLoopbackAddress(), new InetSocketAddress("127.0.0.1", h2.getPort()));
    String url = "jdbc:h2:tcp://127.0.0.1:" + relay.port() + "/mem:outage-" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1";
    node = Fulcrum.start(TestConfig.of("""
        pekko-persistence-jdbc.shared-databases.fulcrum.db.url = "%s"
        fulcrum.pools.%s { backends = ["%s"], health-check { type = tcp, interval = 1s } }
        """.formatted(url, POOL, BACKEND)));
    admin = new AdminClient(node.adminAddress(), Optional.empty());
  }

  @AfterEach
  void stop() throws Exception {
    if (relay != null) relay.up();
    if (node != null) node.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
    if (relay != null) relay.close();
    if (h2 != null) h2.stop();
  }

  private Attempt patchWeight(int weight, Optional<String> key) {
    long start = System.nanoTime();
    var request = java.net.http.HttpRequest.newBuilder(java.net.URI.create(
            "http://127.0.0.1:" + node.adminAddress().getPort() + "/api/pools/" + POOL + "/backends/" + BACKEND))
        .timeout(Duration.ofSeconds(20))
        .method("PATCH", java.net.http.HttpRequest.BodyPublishers.ofString("{\"weight\":" + weight + "}"));
    key.ifPresent(k -> request.header("Idempotency-Key", k));
    try {
      var response = java.net.http.HttpClient.newHttpClient().send(request.build(), java.net.http.HttpResponse.BodyHandlers.ofString());
      long millis = (System.nanoTime() - start) / 1_000_000;
      JsonNode body = new com.fasterxml.jackson.databind.ObjectMapper().readTree(response.body());
      return new Attempt(weight, response.statusCode(), body.path("outcome").asText(""), millis);
    } catch (Exception e) {
      throw new AssertionError("PATCH weight " + weight + ": " + e, e);
    }
  }

  private List<Integer> journaledWeights() {
    AdminClient.Response events = admin.get("/api/pools/" + POOL + "/events");
    assertEquals(200, events.status(), events.toString());
    List<Integer> weights = new ArrayList<>();
    for (JsonNode e : events.json()) if (e.path("type").asText().equals("weight-changed")) weights.add(e.path("weight").asInt());
    return weights;
  }

  /** The entity answers its own GetState only after every change queued before it: then nothing is left to apply. */
  private PoolState drained() throws Exception {
    return node.pool(POOL).<PoolState>ask(PoolEntity.GetState::new, Duration.ofSeconds(20)).toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  @Test
  void aJournalOutageNeverAppliesARefusedChangeLater() throws Exception {
    long before = admin.get("/api/pools/" + POOL).json().path("version").asLong();
    List<Attempt> attempts = new ArrayList<>();

    relay.down();
    for (int weight = 2; weight <= 4; weight++) {
      Attempt a = patchWeight(weight, Optional.empty());
      attempts.add(a);
      System.out.println("journal down: PATCH weight " + weight + " -> " + a.status() + " " + a.outcome() + " in " + a.millis() + " ms");
      assertTrue(a.status() == 503 || a.status() == 504, a.toString());
      assertEquals(a.status() == 503 ? "not-applied" : "unknown", a.outcome(), a.toString());
      assertTrue(a.millis() < CHANGE_ANSWER_BOUND_MS, "answered within the bound: " + a);
    }
    long readStart = System.nanoTime();
    AdminClient.Response read = admin.get("/api/pools/" + POOL);
    long readMillis = (System.nanoTime() - readStart) / 1_000_000;
    System.out.println("journal down: GET pool in " + readMillis + " ms: " + read);
    assertEquals(200, read.status(), read.toString());
    assertEquals(before, read.json().path("version").asLong());
    assertFalse(read.json().path("entityReachable").asBoolean(true), read.toString());
    assertTrue(readMillis < 2_000, "a read answers at once from the replicated state, took " + readMillis + " ms");
    AdminClient.Response history = admin.get("/api/pools/" + POOL + "/events");
    assertEquals(503, history.status(), history.toString());
    assertTrue(history.error().contains("journal cannot be read"), history.toString());

    relay.up();
    String key = "retry-" + UUID.randomUUID();
    Attempt applied = Eventually.await(Duration.ofSeconds(30), "a change through once the journal is back",
        () -> patchWeight(7, Optional.of(key)), a -> a.status() == 200);
    System.out.println("journal back: PATCH weight 7 -> 200 in " + applied.millis() + " ms");
    assertEquals(200, patchWeight(7, Optional.of(key)).status(), "the retry with the same key answers Ok");
    PoolState drained = drained();

    List<Integer> journaled = journaledWeights();
    System.out.println("journaled weight changes: " + journaled + " after " + attempts);
    for (Attempt a : attempts) {
      if (a.status() == 503) assertFalse(journaled.contains(a.weight()), "a change answered 503 was applied: " + a + ", journal " + journaled);
    }
    assertEquals(1, journaled.stream().filter(w -> w == 7).count(), "the keyed change is in the journal exactly once: " + journaled);
    assertEquals(drained.version(), Eventually.await(Duration.ofSeconds(5), "the node routes the entity's version",
        () -> admin.get("/api/pools/" + POOL).json().path("version").asLong(), v -> v == drained.version()));
  }

  @Test
  void aWriteLostInTheNetworkIsAnsweredOutcomeUnknownAndTheNodeConverges() throws Exception {
    relay.blackhole();
    Attempt a = patchWeight(9, Optional.empty());
    System.out.println("journal unreachable (packets held): PATCH weight 9 -> " + a.status() + " " + a.outcome() + " in " + a.millis() + " ms");
    assertTrue(a.status() == 503 || a.status() == 504, a.toString());
    assertTrue(a.millis() < CHANGE_ANSWER_BOUND_MS, "answered within the bound: " + a);
    relay.up(); // the held bytes now arrive: the write may commit after its caller was told "unknown"
    AtomicInteger tries = new AtomicInteger();
    Eventually.await(Duration.ofSeconds(30), "a change through once the journal is back",
        () -> patchWeight(10 + tries.getAndIncrement() % 2, Optional.empty()), r -> r.status() == 200);
    PoolState drained = drained();
    List<Integer> journaled = journaledWeights();
    System.out.println("journaled weight changes: " + journaled);
    if (a.status() == 503) assertFalse(journaled.contains(9), "answered 503 yet applied: " + journaled);
    JsonNode events = admin.get("/api/pools/" + POOL + "/events").json();
    assertEquals(events.get(events.size() - 1).path("seq").asLong(), drained.version(), "the entity holds every journaled event");
  }
}
