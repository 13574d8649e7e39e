package dev.fulcrum.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fulcrum.testing.AdminClient;
import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.FulcrumProcess;
import dev.fulcrum.testing.HttpBackend;
import dev.fulcrum.testing.NamedBackend;
import dev.fulcrum.testing.PostgresTestDb;
import dev.fulcrum.testing.RawHttp;
import dev.fulcrum.testing.SseClient;
import dev.fulcrum.testing.TestConfig;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Route tables on three Fulcrum processes started from cluster-configs/node-N.conf (as {@link MultiProcessClusterTest}:
 * free ports, the test PostgreSQL): a route changed through one node's admin API takes effect for new requests on
 * every node, a kept-alive connection opened before included (its next request); after the whole cluster restarts,
 * every node's replicated table and the journal's history agree. With {@code -Dfulcrum.measure=true} it also times 100
 * changes, after 100 that warm the nodes up, from sending each and from its answer to the moment every node routes by it
 * (each node's event stream tells it), and asserts p99 < 100 ms for both.
 * Runs when FULCRUM_TEST_PG_URL is set (CI sets it).
 */
class RouteClusterTest {
  private static final Duration START = Duration.ofSeconds(180);
  private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

  private final String id = UUID.randomUUID().toString().substring(0, 8);
  private final String blue = "blue_" + id;
  private final String green = "green_" + id;
  private final String listener = "rt-" + id;
  private final Path dir = Path.of("target", "route-cluster", id).toAbsolutePath();
  private final int[] artery = {TestConfig.freePort(), TestConfig.freePort(), TestConfig.freePort()};
  private final int[] admin = {TestConfig.freePort(), TestConfig.freePort(), TestConfig.freePort()};
  private final int[] http = {TestConfig.freePort(), TestConfig.freePort(), TestConfig.freePort()};
  private final FulcrumProcess[] nodes = new FulcrumProcess[3];
  private ActorTestKit backendsKit;

  @AfterEach
  void stopAll() throws Exception {
    for (FulcrumProcess node : nodes) if (node != null) node.close();
    if (backendsKit != null) backendsKit.shutdownTestKit();
    forgetJournals();
  }

  private void forgetJournals() throws java.sql.SQLException {
    PostgresTestDb.forgetCluster(listener, 3, List.of(blue, green), List.of(listener));
  }


  private void config(int n, String url, HttpBackend b, HttpBackend g) throws IOException {
    Path shipped = Path.of("cluster-configs", "node-" + (n + 1) + ".conf").toAbsolutePath();
    String seeds = String.join(", ", Arrays.stream(artery).mapToObj(p -> "\"pekko://fulcrum@127.0.0.1:" + p + "\"").toList());
    String hocon = """
        include file("%s")
        pekko.remote.artery.canonical.port = %d
        pekko.cluster.seed-nodes = [%s]
        fulcrum.node-name = "%s"
        pekko-persistence-jdbc.shared-databases.fulcrum.db { url = "%s", user = "%s", password = "%s" }
        fulcrum.pools = null
        fulcrum.pools.%s.backends = ["%s"]
        fulcrum.pools.%s.backends = ["%s"]
        fulcrum.listeners = null
        fulcrum.listeners { tcp {}, http.%s { bind = "127.0.0.1:%d", routes = [{name = main, pool = %s}] } }
        fulcrum.admin.bind = "127.0.0.1:%d"
        fulcrum.shutdown.drain-timeout = 2s
        """.formatted(shipped.toString().replace("\\", "/"), artery[n], seeds, PostgresTestDb.nodeName(listener, n), url, PostgresTestDb.user(), PostgresTestDb.password(),
            blue, b.address(), green, g.address(), listener, http[n], blue, admin[n]);
    Files.writeString(dir.resolve("node-" + (n + 1) + ".conf"), hocon);
  }

  private void start(int n) {
    nodes[n] = new FulcrumProcess(dir, "--config", dir.resolve("node-" + (n + 1) + ".conf").toString());
  }

  private AdminClient adminOf(int n) {
    return new AdminClient(new InetSocketAddress("127.0.0.1", admin[n]), Optional.empty());
  }

  private void awaitUp(int n) {
    Eventually.await(START, "node " + (n + 1) + " serving its admin api (log: " + dir + ")", () -> {
      if (!nodes[n].isAlive()) throw new AssertionError("node " + (n + 1) + " exited: " + nodes[n].stderr() + nodes[n].stdout());
      try {
        return adminOf(n).get("/api/health").status() == 200;
      } catch (AssertionError connectionRefused) {
        return false;
      }
    });
  }

  private JsonNode table(int n) {
    AdminClient.Response r = adminOf(n).get("/api/routes/" + listener);
    assertEquals(200, r.status(), r.toString());
    return r.json();
  }

  private void startCluster(String url) throws Exception {
    backendsKit = ActorTestKit.create("route-cluster-backends");
    HttpBackend b = NamedBackend.start(backendsKit.system(), "blue");
    HttpBackend g = NamedBackend.start(backendsKit.system(), "green");
    PostgresTestDb.forgetShardLocations(); // no cluster runs now: earlier tests' entities must not start with this one
    forgetJournals(); // and a run killed before its clean-up leaves no listener or route of its own
    Files.createDirectories(dir);
    Files.copy(Path.of("conf", "logback.xml"), dir.resolve("logback.xml"));
    for (int n = 0; n < 3; n++) config(n, url, b, g);
    for (int n = 0; n < 3; n++) start(n);
    for (int n = 0; n < 3; n++) awaitUp(n);
    for (int n = 0; n < 3; n++) {
      int node = n;
      String[] last = {"no answer yet"};
      try {
        Eventually.await(Duration.ofSeconds(60), "node " + (n + 1) + " routes to blue", () -> {
          if (!nodes[node].isAlive()) throw new AssertionError("node " + (node + 1) + " exited: " + nodes[node].stderr() + nodes[node].stdout());
          try {
            last[0] = RawHttp.getOnce(http[node], "/");
            return last[0].equals("blue");
          } catch (RuntimeException | AssertionError notYet) {
            last[0] = String.valueOf(notYet.getMessage());
            return false;
          }
        });
      } catch (AssertionError timedOut) {
        if (!nodes[node].isAlive()) throw timedOut;
        // seen twice in CI in ~10 runs, never here: what the node had, for the next time
        String warnings = String.join("\n", nodes[node].stdout().lines().filter(l -> l.contains("WARN") || l.contains("ERROR")).toList());
        throw new AssertionError(timedOut.getMessage() + "; its last answer: " + last[0] + "; its routes: "
            + adminOf(node).get("/api/routes/" + listener) + "; its pool: " + adminOf(node).get("/api/pools/" + blue)
            + "; its listeners: " + adminOf(node).get("/api/listeners") + "; its warnings:\n" + warnings + "\nlogs in " + dir, timedOut);
      }
    }
  }

  @Test
  void aRouteChangedOnOneNodeTakesEffectOnEveryNodeAndSurvivesARestart() throws Exception {
    Optional<String> url = PostgresTestDb.url();
    Assumptions.assumeTrue(url.isPresent(), "FULCRUM_TEST_PG_URL is not set");
    startCluster(url.get());
    try (RawHttp keptAlive = new RawHttp(new InetSocketAddress("127.0.0.1", http[2]))) {
      assertEquals("blue", keptAlive.get("/"));
      AdminClient.Response changed = adminOf(0).put("/api/routes/" + listener + "/main/pools", "{\"pool\": \"" + green + "\"}");
      assertEquals(200, changed.status(), changed.toString());
      long version = changed.json().path("version").asLong();
      for (int n = 0; n < 3; n++) {
        int node = n;
        Eventually.await(Duration.ofSeconds(5), "node " + (n + 1) + " has version " + version,
            () -> table(node).path("version").asLong() == version);
        assertEquals("green", RawHttp.getOnce(http[n], "/"), "node " + (n + 1) + ", a new connection");
      }
      assertEquals("green", keptAlive.get("/"), "the next request of a connection opened before the change");
    }
    AdminClient.Response bad = adminOf(1).put("/api/routes/" + listener + "/main/pools",
        "{\"pools\": [{\"pool\": \"" + blue + "\", \"weight\": 50}, {\"pool\": \"" + green + "\", \"weight\": 40}]}");
    assertEquals(400, bad.status(), bad.toString());
    assertEquals("routes[0].pools: the weights add up to 90, not 100", bad.error());

    JsonNode expected = table(0);
    JsonNode history = adminOf(1).get("/api/routes/" + listener + "/events").json();
    for (FulcrumProcess node : nodes) node.terminate();
    for (FulcrumProcess node : nodes) assertEquals(0, node.awaitExit(60));
    for (int n = 0; n < 3; n++) start(n);
    for (int n = 0; n < 3; n++) awaitUp(n);
    for (int n = 0; n < 3; n++) {
      assertEquals(expected, table(n), "node " + (n + 1) + " after the restart: the journal's table");
      assertEquals("green", RawHttp.getOnce(http[n], "/"));
    }
    assertEquals(history, adminOf(2).get("/api/routes/" + listener + "/events").json());
    assertEquals(expected.path("version").asLong(), history.get(history.size() - 1).path("seq").asLong(), "journal and replica agree");
  }

  @Test
  void routeChangePropagationOnThreeProcesses() throws Exception {
    Optional<String> url = PostgresTestDb.url();
    Assumptions.assumeTrue(url.isPresent() && Boolean.getBoolean("fulcrum.measure"), "a measurement: -Dfulcrum.measure=true and a PostgreSQL");
    startCluster(url.get());
    // one kept-alive client per node, and each node tells when it routes by a version through its event stream (the
    // event goes out right after its listener's table is swapped): a fresh HTTP client per poll, three polls in a row,
    // cost more than the propagation on a loaded machine
    AdminClient[] api = {adminOf(0), adminOf(1), adminOf(2)};
    SseClient[] streams = new SseClient[3];
    try {
      for (int n = 0; n < 3; n++) {
        streams[n] = SseClient.open(new InetSocketAddress("127.0.0.1", admin[n]), "/api/events?kinds=route-changed", Optional.empty());
        if (streams[n].status() != 200) throw new AssertionError("node " + (n + 1) + ": " + streams[n].status() + " " + streams[n].body());
        streams[n].awaitComment("subscribed", Duration.ofSeconds(10));
      }
      // Nodes fresh from start-up compile the change path during the first changes: on 2 cores their JIT compiler threads
      // used about half of their CPU during the first 100, which took 1.1-2x as long as the next 100 at p50 and 1.3-5x at
      // p99 (six runs). The bar is for a running cluster: the first 100 warm it up and are printed apart.
      Changes cold = changes(WARM_UP, api, streams);
      Changes warm = changes(100, api, streams);
      System.out.println("route change propagation, 3 processes, the first " + WARM_UP + " changes (warm-up): " + cold);
      System.out.println("route change propagation, 3 processes, the next 100 changes: " + warm);
      for (int n = 0; n < 3; n++) {
        assertEquals(warm.version(), api[n].get("/api/routes/" + listener).json().path("version").asLong(), "node " + (n + 1));
      }
      assertTrue(percentile(warm.answeredToAll(), 99) < 100, "answered -> routed by every node, p99: " + warm);
      assertTrue(percentile(warm.sentToAll(), 99) < 100, "sent -> routed by every node, p99: " + warm);
    } finally {
      for (SseClient stream : streams) if (stream != null) stream.close();
    }
  }

  private static final int WARM_UP = 100;

  /** Nanoseconds per change: from sending it to its answer, from its answer and from sending it to every node routing by it. */
  private record Changes(long[] sentToAnswered, long[] answeredToAll, long[] sentToAll, long version) {
    @Override
    public String toString() {
      long[] slowest = sentToAll.clone();
      Arrays.sort(slowest);
      return "sent -> routed by every node " + percentiles(sentToAll) + " (the 5 slowest: "
          + Arrays.stream(slowest, slowest.length - 5, slowest.length).mapToObj(n -> String.format("%.1f", n / 1e6)).toList()
          + " ms); answered -> routed by every node " + percentiles(answeredToAll) + "; sent -> answered " + percentiles(sentToAnswered);
    }

    private static String percentiles(long[] nanos) {
      return String.format("p50 %.1f ms, p90 %.1f ms, p99 %.1f ms", percentile(nanos, 50), percentile(nanos, 90), percentile(nanos, 99));
    }
  }

  /** {@code count} changes of the route's pool through the nodes in turn, one after the other, each timed. */
  private Changes changes(int count, AdminClient[] api, SseClient[] streams) {
    long[] sentToAnswered = new long[count];
    long[] answeredToAll = new long[count];
    long[] sentToAll = new long[count];
    long version = 0;
    for (int i = 0; i < count; i++) {
      long sent = System.nanoTime();
      AdminClient.Response r = api[i % 3].put("/api/routes/" + listener + "/main/pools", "{\"pool\": \"" + (i % 2 == 0 ? green : blue) + "\"}");
      long answered = System.nanoTime();
      assertEquals(200, r.status(), r.toString());
      version = r.json().path("version").asLong();
      long last = 0;
      for (int n = 0; n < 3; n++) last = Math.max(last, routedBy(streams[n], version, n));
      sentToAnswered[i] = answered - sent;
      answeredToAll[i] = Math.max(0, last - answered);
      sentToAll[i] = last - sent;
    }
    return new Changes(sentToAnswered, answeredToAll, sentToAll, version);
  }

  /** When node {@code n}'s event stream told that it routes by {@code version} of the table or a newer one (nanoTime). */
  private long routedBy(SseClient stream, long version, int n) {
    long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
    while (true) {
      long left = deadline - System.nanoTime();
      assertTrue(left > 0, "node " + (n + 1) + " did not route by version " + version + " within 5 s");
      SseClient.Message m = stream.nextEvent(Duration.ofNanos(left));
      JsonNode data;
      try {
        data = JSON.readTree(m.data());
      } catch (IOException e) {
        throw new AssertionError("not JSON: " + m.data(), e);
      }
      if (data.path("listener").asText().equals(listener) && data.path("version").asLong() >= version) return m.receivedAt();
    }
  }

  /** The {@code p}-th percentile in milliseconds, nearest rank (of 100 values, p99 is the 99th smallest). */
  private static double percentile(long[] nanos, int p) {
    long[] sorted = nanos.clone();
    Arrays.sort(sorted);
    return sorted[Math.max(0, (sorted.length * p + 99) / 100 - 1)] / 1e6;
  }
}
