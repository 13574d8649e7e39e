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
import dev.fulcrum.testing.TcpRelay;
import dev.fulcrum.testing.TestConfig;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The control plane under faults, as the issue's history check: three Fulcrum processes from the shipped
 * cluster-configs, each on its own loopback address (127.0.0.1-3), a real PostgreSQL journal, traffic through every
 * node and one client per node making control changes through it, while the test injects one after another: SIGKILL of
 * the node running the pool's entity, SIGSTOP/SIGCONT of a node for 10 s, a partition of one node for 20 s (each node's
 * cluster port sits behind a relay that refuses the other nodes' addresses), and a journal database outage (the
 * database behind a relay that resets every connection). Every request and answer is recorded; then: every change
 * answered Ok is in the journal exactly once, no change answered 503 ("not-applied") is, all nodes end at the same
 * version, and no data-plane request failed through a node that stayed reachable (the partitioned one included).
 * Runs when FULCRUM_TEST_PG_URL is set.
 */
class FaultInjectionTest {
  private static final Duration START = Duration.ofSeconds(90);
  private static final int NODES = 3;

  private final String pool = "fi_" + UUID.randomUUID().toString().substring(0, 8);
  private final Path dir = Path.of("target", "fault-injection", pool).toAbsolutePath();
  private final FulcrumProcess[] nodes = new FulcrumProcess[NODES];
  private final TcpRelay[] artery = new TcpRelay[NODES];
  private final int[] bind = new int[NODES];
  private final int[] tcp = new int[NODES];
  private final int[] admin = new int[NODES];
  private final int[] http = new int[NODES];
  private TcpRelay database;
  private ActorTestKit backendsKit;
  private final long t0 = System.nanoTime();
  private final List<String> timeline = new CopyOnWriteArrayList<>();
  /** Per node, the intervals (nanoTime) in which it was down or frozen: data-plane failures there are expected. */
  private final Map<Integer, List<long[]>> faulted = new HashMap<>();

  private record Change(int client, String backend, int weight, long start, long end, String outcome, int attempts) {}

  private record Request(int node, long start, boolean ok, String failure) {}

  private static String host(int n) {
    return "127.0.0." + (n + 1);
  }

  private String at() {
    return String.format("%6.1f s", (System.nanoTime() - t0) / 1e9);
  }

  private void mark(String event) {
    String line = at() + "  " + event;
    timeline.add(line);
    System.out.println("timeline " + line);
  }

  @AfterEach
  void stopAll() throws Exception {
    try {
      for (FulcrumProcess node : nodes) if (node != null) node.close(); // SIGKILL, also of a stopped process
      for (TcpRelay r : artery) if (r != null) r.close();
      if (database != null) database.close();
      if (backendsKit != null) backendsKit.shutdownTestKit();
    } finally {
      forgetJournals();
    }
  }

  private void forgetJournals() throws java.sql.SQLException {
    PostgresTestDb.forgetCluster(pool, 3, List.of(pool), List.of("web-http"));
  }


  private void writeConfig(int n, String dbUrl, List<HttpBackend> backends) throws Exception {
    Path shipped = Path.of("cluster-configs", "node-" + (n + 1) + ".conf").toAbsolutePath();
    List<String> seeds = new ArrayList<>();
    for (int i = 0; i < NODES; i++) seeds.add("\"pekko://fulcrum@" + host(i) + ":" + artery[i].port() + "\"");
    String hocon = """
        include file("%s")
        pekko.remote.artery.canonical { hostname = "%s", port = %d }
        pekko.remote.artery.bind { hostname = "%s", port = %d }
        pekko.remote.artery.advanced.tcp.outbound-client-hostname = "%s"
        pekko.cluster.seed-nodes = [%s]
        fulcrum.node-name = "%s"
        pekko-persistence-jdbc.shared-databases.fulcrum.db { url = "%s", user = "%s", password = "%s" }
        fulcrum.pools = null
        fulcrum.pools.%s { strategy = round-robin, backends = ["%s", "%s", "%s"], health-check.interval = 1s }
        fulcrum.listeners.tcp.web-tcp { bind = "%s:%d", pool = %s }
        fulcrum.listeners.http.web-http { bind = "%s:%d", routes = [{pool = %s}] }
        fulcrum.admin.bind = "%s:%d"
        fulcrum.shutdown.drain-timeout = 2s
        """.formatted(shipped.toString().replace("\\", "/"), host(n), artery[n].port(), host(n), bind[n], host(n),
        String.join(", ", seeds), PostgresTestDb.nodeName(pool, n), dbUrl, PostgresTestDb.user(), PostgresTestDb.password(),
        pool, backends.get(0).address(), backends.get(1).address(), backends.get(2).address(),
        host(n), tcp[n], pool, host(n), http[n], pool, host(n), admin[n]);
    Files.writeString(dir.resolve("node-" + (n + 1) + ".conf"), hocon);
  }

  private void start(int n) {
    nodes[n] = new FulcrumProcess(dir, "--config", dir.resolve("node-" + (n + 1) + ".conf").toString());
  }

  /** Until the restarted node answers; a node that gives up starting fails the test at once, with its own words. */
  private void awaitRestarted(int n) {
    long deadline = System.nanoTime() + START.toNanos();
    while (get(n, "/api/health").isEmpty()) {
      if (!nodes[n].isAlive() || System.nanoTime() > deadline) {
        String out = nodes[n].stdout();
        throw new AssertionError("node " + (n + 1) + (nodes[n].isAlive() ? " not answering after " + START : " exited")
            + " after its restart; its output ends:\n" + out.substring(Math.max(0, out.length() - 6000)) + nodes[n].stderr());
      }
      LockSupport.parkNanos(Duration.ofMillis(200).toNanos()); // polling a process from outside: nothing to be told by
    }
  }

  private AdminClient adminOf(int n) {
    return new AdminClient(new InetSocketAddress(host(n), admin[n]), Optional.empty());
  }

  private Optional<JsonNode> get(int n, String path) {
    try {
      AdminClient.Response r = adminOf(n).get(path);
      return r.status() == 200 ? Optional.of(r.json()) : Optional.empty();
    } catch (AssertionError unreachable) {
      return Optional.empty();
    }
  }

  private int upMembers(int n) {
    if (!nodes[n].isAlive()) throw new AssertionError("node " + (n + 1) + " exited: " + nodes[n].stderr() + "\nlog: " + dir);
    return get(n, "/api/cluster").map(v -> {
      int up = 0;
      for (JsonNode m : v.path("members")) {
        if (m.path("status").asText().equals("Up") && m.path("reachability").asText().equals("reachable")) up++;
      }
      return up;
    }).orElse(0);
  }

  private void awaitWhole(String after) {
    long start = System.nanoTime();
    for (int n = 0; n < NODES; n++) {
      int node = n;
      Eventually.await(Duration.ofSeconds(90), "node " + (n + 1) + " sees " + NODES + " members up after " + after,
          () -> upMembers(node) == NODES);
    }
    mark("cluster whole again after " + after + " (" + (System.nanoTime() - start) / 1_000_000 + " ms after the fault ended)");
  }

  private int entityHost() {
    for (int n = 0; n < NODES; n++) {
      Optional<JsonNode> view = get(n, "/api/cluster");
      if (view.isEmpty()) continue;
      for (JsonNode p : view.get().path("pools")) {
        if (p.path("name").asText().equals(pool) && p.path("entityNode").isTextual()) {
          Matcher m = Pattern.compile("@127\\.0\\.0\\.(\\d+):").matcher(p.path("entityNode").asText());
          if (m.find()) return Integer.parseInt(m.group(1)) - 1;
        }
      }
    }
    throw new AssertionError("the entity's node is unknown");
  }

  private void faultedFrom(int n, long from) {
    faulted.computeIfAbsent(n, k -> new CopyOnWriteArrayList<>()).add(new long[] {from, Long.MAX_VALUE});
  }

  private void faultedUntil(int n, long to) {
    List<long[]> intervals = faulted.get(n);
    intervals.get(intervals.size() - 1)[1] = to;
  }

  private boolean excused(Request r) {
    for (long[] i : faulted.getOrDefault(r.node(), List.of())) {
      if (r.start() >= i[0] - 200_000_000L && r.start() <= i[1]) return true;
    }
    return false;
  }

  /** One control client per node: unique weights on its own backend, each change with its own idempotency key. */
  private Thread controlClient(int n, String backend, AtomicBoolean running, List<Change> changes) {
    HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    Thread t = new Thread(() -> {
      int weight = 1;
      while (running.get() && weight < 1000) {
        weight++;
        String key = "fi-" + n + "-" + weight;
        long start = System.nanoTime();
        String outcome = null;
        int attempts = 0;
        boolean unknown = false;
        // An unknown outcome is retried under the same key (at most twice): the idempotency key keeps it to one change.
        while (attempts < 3) {
          attempts++;
          String answer = patch(client, n, backend, weight, key);
          if (answer.equals("unknown") || answer.equals("no-answer")) {
            unknown = true;
            continue;
          }
          outcome = answer.equals("not-applied") && unknown ? "unknown" : answer;
          break;
        }
        if (outcome == null) outcome = "unknown";
        changes.add(new Change(n, backend, weight, start, System.nanoTime(), outcome, attempts));
        LockSupport.parkNanos(300_000_000L);
      }
    }, "control-" + n);
    t.start();
    return t;
  }

  private String patch(HttpClient client, int n, String backend, int weight, String key) {
    try {
      HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(
                  "http://" + host(n) + ":" + admin[n] + "/api/pools/" + pool + "/backends/" + backend))
              .timeout(Duration.ofSeconds(15))
              .header("Idempotency-Key", key)
              .method("PATCH", HttpRequest.BodyPublishers.ofString("{\"weight\":" + weight + "}"))
              .build(),
          HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() == 200) return "ok";
      if (r.statusCode() == 503 && r.body().contains("\"not-applied\"")) return "not-applied";
      if (r.statusCode() == 504 && r.body().contains("\"unknown\"")) return "unknown";
      return "other " + r.statusCode() + " " + r.body();
    } catch (Exception e) {
      return "no-answer";
    }
  }

  private Thread traffic(int n, AtomicBoolean running, List<Request> requests) {
    Thread t = new Thread(() -> {
      while (running.get()) {
        long start = System.nanoTime();
        try {
          String body = RawHttp.getOnce(new InetSocketAddress(host(n), tcp[n]), "/");
          requests.add(new Request(n, start, body.startsWith("b"), body.startsWith("b") ? null : "body " + body));
        } catch (RuntimeException | AssertionError e) {
          requests.add(new Request(n, start, false, e.toString()));
        }
        LockSupport.parkNanos(25_000_000L);
      }
    }, "traffic-" + n);
    t.start();
    return t;
  }

  /** After a fault: the first control answer of each kind, to put in the timeline. */
  private void firstAnswersAfter(long from, List<Change> changes, String fault) {
    Optional<Change> failed = changes.stream().filter(c -> c.start() >= from && !c.outcome().equals("ok")).findFirst();
    Optional<Change> ok = changes.stream().filter(c -> c.start() >= from && c.outcome().equals("ok")).findFirst();
    failed.ifPresent(c -> timeline.add(String.format("%6.1f s    first control change not ok after %s: node %d, %s",
        (c.end() - t0) / 1e9, fault, c.client() + 1, c.outcome())));
    ok.ifPresent(c -> timeline.add(String.format("%6.1f s    first control change ok after %s: node %d (%d ms after the fault began)",
        (c.end() - t0) / 1e9, fault, c.client() + 1, (c.end() - from) / 1_000_000)));
  }

  @Test
  void everyAnswerTellsTheTruthUnderFaults() throws Exception {
    Optional<String> url = PostgresTestDb.url();
    Assumptions.assumeTrue(url.isPresent(), "FULCRUM_TEST_PG_URL is not set");
    Matcher pg = Pattern.compile("//([^/:]+):(\\d+)/").matcher(url.get());
    assertTrue(pg.find(), "cannot find host:port in " + url.get());
    database = new TcpRelay(InetAddress.getByName("127.0.0.1"), new InetSocketAddress(pg.group(1), Integer.parseInt(pg.group(2))));
    String dbUrl = url.get().replace("//" + pg.group(1) + ":" + pg.group(2) + "/", "//127.0.0.1:" + database.port() + "/");

    backendsKit = ActorTestKit.create("fault-injection-backends");
    List<HttpBackend> backends = List.of(NamedBackend.start(backendsKit.system(), "b1"),
        NamedBackend.start(backendsKit.system(), "b2"), NamedBackend.start(backendsKit.system(), "b3"));
    PostgresTestDb.forgetShardLocations(); // no cluster runs now: earlier tests' entities must not start with this one
    forgetJournals(); // and a run killed before its clean-up leaves no listener or route of its own
    Files.createDirectories(dir);
    Files.copy(Path.of("conf", "logback.xml"), dir.resolve("logback.xml"));
    for (int n = 0; n < NODES; n++) {
      bind[n] = TestConfig.freePort();
      tcp[n] = TestConfig.freePort();
      admin[n] = TestConfig.freePort();
      http[n] = TestConfig.freePort();
      artery[n] = new TcpRelay(InetAddress.getByName(host(n)), new InetSocketAddress(host(n), bind[n]));
    }
    for (int n = 0; n < NODES; n++) writeConfig(n, dbUrl, backends);
    for (int n = 0; n < NODES; n++) start(n);
    awaitWhole("start-up");
    for (int n = 0; n < NODES; n++) {
      int node = n;
      Eventually.await(START, "node " + (n + 1) + " routes the pool with every backend up", () -> get(node, "/api/pools/" + pool),
          p -> p.isPresent() && java.util.stream.StreamSupport.stream(p.get().path("backends").spliterator(), false)
              .allMatch(b -> b.path("health").asText().equals("up")));
    }

    AtomicBoolean running = new AtomicBoolean(true);
    List<Change> changes = new CopyOnWriteArrayList<>();
    List<Request> requests = new CopyOnWriteArrayList<>();
    List<Thread> threads = new ArrayList<>();
    for (int n = 0; n < NODES; n++) {
      threads.add(traffic(n, running, requests));
      threads.add(controlClient(n, backends.get(n).address(), running, changes));
    }
    Eventually.await(Duration.ofSeconds(20), "changes and traffic flowing", () -> changes.size() >= 6 && requests.size() > 50);
    mark("traffic and control changes flowing through all " + NODES + " nodes");

    // 1. SIGKILL of the node that runs the pool's entity.
    int victim = entityHost();
    long killed = System.nanoTime();
    faultedFrom(victim, killed);
    nodes[victim].close();
    mark("FAULT SIGKILL node " + (victim + 1) + " (runs the pool's entity)");
    int other = (victim + 1) % NODES;
    Eventually.await(Duration.ofSeconds(30), "a change ok through another node after the kill",
        () -> changes.stream().anyMatch(c -> c.client() != victim && c.start() >= killed && c.outcome().equals("ok")));
    firstAnswersAfter(killed, changes, "the SIGKILL");
    start(victim);
    awaitRestarted(victim);
    faultedUntil(victim, System.nanoTime());
    mark("node " + (victim + 1) + " restarted");
    awaitWhole("the SIGKILL");

    // 2. SIGSTOP for 10 s: a long GC pause. The others down it; on SIGCONT it rejoins by itself.
    int frozen = (entityHost() + 1) % NODES;
    long stopped = System.nanoTime();
    faultedFrom(frozen, stopped);
    nodes[frozen].signal("STOP");
    mark("FAULT SIGSTOP node " + (frozen + 1));
    LockSupport.parkNanos(Duration.ofSeconds(10).toNanos()); // the fault's own length, not a wait for an outcome
    nodes[frozen].signal("CONT");
    faultedUntil(frozen, System.nanoTime() + 1_000_000_000L);
    mark("SIGCONT node " + (frozen + 1));
    firstAnswersAfter(stopped, changes, "the SIGSTOP");
    awaitWhole("the SIGSTOP");

    // 3. A partition of one node for 20 s: it keeps routing (its failures are not excused), and rejoins.
    int cut = entityHost();
    long partitioned = System.nanoTime();
    for (int n = 0; n < NODES; n++) {
      if (n == cut) continue;
      artery[cut].block(InetAddress.getByName(host(n)));
      artery[n].block(InetAddress.getByName(host(cut)));
    }
    mark("FAULT partition: node " + (cut + 1) + " (runs the pool's entity) cut off from the others");
    LockSupport.parkNanos(Duration.ofSeconds(20).toNanos()); // the fault's own length
    for (TcpRelay r : artery) r.unblockAll();
    mark("partition healed");
    firstAnswersAfter(partitioned, changes, "the partition");
    awaitWhole("the partition");

    // 4. The journal database goes away for 8 s (every connection reset, new ones refused), then comes back.
    long dbDown = System.nanoTime();
    database.down();
    mark("FAULT journal database unreachable");
    LockSupport.parkNanos(Duration.ofSeconds(8).toNanos()); // the fault's own length
    database.up();
    long dbUp = System.nanoTime();
    mark("journal database back");
    Eventually.await(Duration.ofSeconds(60), "a change ok after the journal came back",
        () -> changes.stream().anyMatch(c -> c.start() >= dbUp && c.outcome().equals("ok")));
    firstAnswersAfter(dbDown, changes, "the journal outage");

    running.set(false);
    for (Thread t : threads) t.join(30_000);
    mark("traffic stopped");

    // The checks.
    Map<String, Integer> journaled = new HashMap<>();
    long lastSeq = 0;
    for (long from = 1; ; ) {
      long page = from;
      JsonNode events = Eventually.await(Duration.ofSeconds(30), "the history", () -> get(0, "/api/pools/" + pool + "/events?from=" + page), Optional::isPresent).get();
      for (JsonNode e : events) {
        lastSeq = e.path("seq").asLong();
        if (e.path("type").asText().equals("weight-changed")) journaled.merge(e.path("address").asText() + "=" + e.path("weight").asInt(), 1, Integer::sum);
      }
      if (events.size() < 1000) break;
      from = lastSeq + 1;
    }
    long expectedVersion = lastSeq;
    for (int n = 0; n < NODES; n++) {
      int node = n;
      Eventually.await(Duration.ofSeconds(30), "node " + (n + 1) + " at the journal's last version " + expectedVersion,
          () -> get(node, "/api/pools/" + pool).map(p -> p.path("version").asLong()).orElse(-1L), v -> v == expectedVersion);
    }
    mark("all nodes at version " + expectedVersion + " = the journal's last event");

    Map<String, Integer> outcomes = new HashMap<>();
    List<String> violations = new ArrayList<>();
    for (Change c : changes) {
      outcomes.merge(c.outcome().startsWith("other") ? "other" : c.outcome(), 1, Integer::sum);
      int times = journaled.getOrDefault(c.backend() + "=" + c.weight(), 0);
      if (c.outcome().equals("ok") && times != 1) violations.add("answered Ok but in the journal " + times + " times: " + c);
      if (c.outcome().equals("not-applied") && times != 0) violations.add("answered 503 not-applied but in the journal: " + c);
      if (c.outcome().equals("unknown") && times > 1) violations.add("in the journal " + times + " times: " + c);
      if (c.outcome().startsWith("other")) violations.add("an answer that is none of ok/not-applied/unknown: " + c);
    }
    int failed = 0;
    int excusedFailures = 0;
    String firstFailure = null;
    for (Request r : requests) {
      if (r.ok()) continue;
      if (excused(r)) {
        excusedFailures++;
      } else {
        failed++;
        if (firstFailure == null) firstFailure = String.format("%.1f s node %d: %s", (r.start() - t0) / 1e9, r.node() + 1, r.failure());
      }
    }
    System.out.println("fault-injection timeline:\n  " + String.join("\n  ", timeline.stream().sorted().toList()));
    System.out.printf("control changes: %d %s; data plane: %d requests, %d failed through reachable nodes, %d through a killed or "
        + "frozen node%n", changes.size(), outcomes, requests.size(), failed, excusedFailures);
    assertTrue(violations.isEmpty(), String.join("\n", violations));
    assertEquals(0, failed, "data-plane requests failed through reachable nodes; first: " + firstFailure);
    assertTrue(outcomes.getOrDefault("ok", 0) > 20, "enough changes succeeded to mean something: " + outcomes);
  }
}
