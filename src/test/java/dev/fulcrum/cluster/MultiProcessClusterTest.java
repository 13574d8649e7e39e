package dev.fulcrum.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fulcrum.testing.AdminClient;
import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.PostgresTestDb;
import dev.fulcrum.testing.FulcrumProcess;
import dev.fulcrum.testing.HttpBackend;
import dev.fulcrum.testing.NamedBackend;
import dev.fulcrum.testing.RawHttp;
import dev.fulcrum.testing.TestConfig;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Three Fulcrum processes started from cluster-configs/node-N.conf (ports made free and the journal pointed at the test
 * PostgreSQL), as a user runs them. The node that runs the pool's entity is killed with SIGKILL while a client keeps
 * sending requests through another node; then it restarts and rejoins; then the whole cluster restarts. Runs when
 * FULCRUM_TEST_PG_URL is set (CI sets it), see {@link dev.fulcrum.pool.PostgresJournalTest}.
 */
class MultiProcessClusterTest {
  private static final Duration START = Duration.ofSeconds(90);

  private final String pool = "ha_" + UUID.randomUUID().toString().substring(0, 8);
  // Under target/, not a temporary directory: the nodes' logs stay there for a look after a failure.
  private final Path dir = Path.of("target", "multi-process-cluster", pool).toAbsolutePath();
  private final int[] artery = {TestConfig.freePort(), TestConfig.freePort(), TestConfig.freePort()};
  private final int[] tcp = {TestConfig.freePort(), TestConfig.freePort(), TestConfig.freePort()};
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
    PostgresTestDb.forgetCluster(pool, 3, List.of(pool), List.of("web-http"));
  }


  /** node-N.conf as shipped, with free ports, the test database and this test's own pool (the journal is shared). */
  private Path config(int n, String url, List<HttpBackend> backends) throws IOException {
    Path shipped = Path.of("cluster-configs", "node-" + (n + 1) + ".conf").toAbsolutePath();
    String seeds = String.join(", ", java.util.Arrays.stream(artery).mapToObj(p -> "\"pekko://fulcrum@127.0.0.1:" + p + "\"").toList());
    String hocon = """
        include file("%s")
        pekko.remote.artery.canonical.port = %d
        pekko.cluster.seed-nodes = [%s]
        fulcrum.node-name = "%s"
        pekko-persistence-jdbc.shared-databases.fulcrum.db { url = "%s", user = "%s", password = "%s" }
        fulcrum.pools = null
        fulcrum.pools.%s { strategy = round-robin, backends = ["%s", "%s", "%s"] }
        fulcrum.listeners.tcp.web-tcp { bind = "127.0.0.1:%d", pool = %s }
        fulcrum.listeners.http.web-http { bind = "127.0.0.1:%d", routes = [{pool = %s}] }
        fulcrum.admin.bind = "127.0.0.1:%d"
        fulcrum.shutdown.drain-timeout = 2s
        # Shards stay where they are while the cluster settles, so the entity is on the node the test kills.
        pekko.cluster.sharding.rebalance-interval = 1h
        """.formatted(shipped.toString().replace("\\", "/"), artery[n], seeds, PostgresTestDb.nodeName(pool, n), url,
            PostgresTestDb.user(), PostgresTestDb.password(),
            pool, backends.get(0).address(), backends.get(1).address(), backends.get(2).address(), tcp[n], pool, http[n], pool,
            admin[n]);
    Path file = dir.resolve("node-" + (n + 1) + ".conf");
    Files.writeString(file, hocon);
    return file;
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

  private JsonNode clusterView(int n) {
    return adminOf(n).get("/api/cluster").json();
  }

  private static int upMembers(JsonNode view) {
    int up = 0;
    for (JsonNode m : view.path("members")) {
      if (m.path("status").asText().equals("Up") && m.path("reachability").asText().equals("reachable")) up++;
    }
    return up;
  }

  private int entityHost(int askVia) {
    // The journal is shared with other tests: find this test's pool among any others.
    JsonNode entry = Eventually.await(Duration.ofSeconds(30), "the entity located", () -> {
      for (JsonNode p : clusterView(askVia).path("pools")) if (p.path("name").asText().equals(pool)) return p;
      return com.fasterxml.jackson.databind.node.MissingNode.getInstance();
    }, p -> p.path("entityNode").isTextual());
    String node = entry.path("entityNode").asText();
    for (int n = 0; n < 3; n++) if (node.endsWith(":" + artery[n])) return n;
    throw new AssertionError("entity on an unknown node: " + entry);
  }

  private String warnings(int n) {
    return String.join("\n", nodes[n].stdout().lines().filter(l -> l.contains("WARN") || l.contains("ERROR")).toList());
  }

  private JsonNode poolOn(int n) {
    AdminClient.Response response = adminOf(n).get("/api/pools/" + pool);
    assertEquals(200, response.status(), response.toString());
    return response.json();
  }

  /** Each node's view of the cluster and its cluster warnings, for a rejoin that does not come. */
  private String clusterStory() {
    StringBuilder story = new StringBuilder();
    for (int n = 0; n < 3; n++) {
      story.append("node ").append(n + 1).append(nodes[n].isAlive() ? "" : " (exited)").append(": ");
      try {
        story.append(clusterView(n).path("members"));
      } catch (RuntimeException | AssertionError noAnswer) {
        story.append("no view (").append(noAnswer.getMessage()).append(")");
      }
      story.append('\n');
      nodes[n].stdout().lines().filter(l -> l.contains("Cluster") || l.contains("SBR") || l.contains("incarnation") || l.contains("rejoin"))
          .filter(l -> l.contains("WARN") || l.contains("ERROR") || l.contains("INFO"))
          .forEach(l -> story.append("  ").append(l, 0, Math.min(l.length(), 400)).append('\n'));
    }
    return story.toString();
  }

  /** The failover's steps as the survivors logged them, and the calls made meanwhile, from the kill on. */
  private String failoverTimeline(java.time.LocalTime killedAt, int victim, List<String> calls) {
    List<String> lines = new ArrayList<>();
    lines.add(killedAt + " SIGKILL of node " + (victim + 1));
    java.util.regex.Pattern step = java.util.regex.Pattern.compile(
        "as UNREACHABLE|SBR took decision|Cluster member removed|Leader is removing|entity running on this node|Singleton manager starting singleton|ClusterSingletonManager state change");
    for (int n = 0; n < 3; n++) {
      if (n == victim) continue;
      int node = n;
      nodes[n].stdout().lines()
          .filter(l -> l.length() > 12 && step.matcher(l).find() && l.substring(0, 12).compareTo(killedAt.toString()) >= 0)
          .forEach(l -> lines.add(l.substring(0, Math.min(l.length(), l.contains("SBR") ? 1000 : 200)) + " [node " + (node + 1) + "]"));
    }
    java.util.Collections.sort(lines);
    return String.join("\n", lines) + "\ncalls after the kill: " + calls;
  }

  @Test
  void killingTheEntitysNodeLosesNoRequestAndControlComesBack() throws Exception {
    Optional<String> url = PostgresTestDb.url();
    Assumptions.assumeTrue(url.isPresent(), "FULCRUM_TEST_PG_URL is not set");
    backendsKit = ActorTestKit.create("multi-process-backends");
    List<HttpBackend> backends = List.of(
        NamedBackend.start(backendsKit.system(), "b1"), NamedBackend.start(backendsKit.system(), "b2"), NamedBackend.start(backendsKit.system(), "b3"));
    PostgresTestDb.forgetShardLocations(); // no cluster runs now: earlier tests' entities must not start with this one
    forgetJournals(); // and a run killed before its clean-up leaves no listener or route of its own
    Files.createDirectories(dir);
    Files.copy(Path.of("conf", "logback.xml"), dir.resolve("logback.xml"));
    for (int n = 0; n < 3; n++) config(n, url.get(), backends);
    for (int n = 0; n < 3; n++) start(n);
    for (int n = 0; n < 3; n++) awaitUp(n);
    Eventually.await(Duration.ofSeconds(30), "three members up", () -> upMembers(clusterView(0)) == 3);

    // The client's node is any node but the entity's.
    int client = (entityHost(0) + 1) % 3;
    // Each node checks the backends itself; a first check that times out while three JVMs start marks one down for a
    // few seconds. That is start-up, not failover: traffic starts once the client's node sees every backend up.
    Eventually.await(Duration.ofSeconds(30), "node " + (client + 1) + " sees every backend up", () -> poolOn(client),
        p -> java.util.stream.StreamSupport.stream(p.path("backends").spliterator(), false)
            .allMatch(b -> b.path("health").asText().equals("up")));
    String backend = backends.get(0).address();
    AtomicBoolean sending = new AtomicBoolean(true);
    AtomicInteger ok = new AtomicInteger();
    AtomicInteger failed = new AtomicInteger();
    AtomicReference<String> firstFailure = new AtomicReference<>();
    Thread traffic = new Thread(() -> {
      long end = System.nanoTime() + Duration.ofSeconds(120).toNanos();
      while (sending.get() && System.nanoTime() < end) {
        try {
          String body = RawHttp.getOnce(tcp[client], "/");
          if (body.startsWith("b")) ok.incrementAndGet();
          else throw new IllegalStateException("unexpected body " + body);
        } catch (RuntimeException e) {
          failed.incrementAndGet();
          firstFailure.compareAndSet(null, java.time.LocalTime.now() + " " + e);
        }
        java.util.concurrent.locks.LockSupport.parkNanos(5_000_000); // about 200 requests a second, not a load test
      }
    }, "traffic");
    traffic.start();
    // A start that does not flow says how: requests failing (and why), or none answered at all.
    java.util.function.Supplier<String> flow = () -> ok.get() + " answered, " + failed.get() + " failed (first: "
        + firstFailure.get() + "); node " + (client + 1) + "'s warnings:\n" + warnings(client);
    Eventually.await(Duration.ofSeconds(10), "traffic flowing", () -> ok.get() > 20 ? "" : flow.get(), String::isEmpty);

    int victim = entityHost(client);
    assertTrue(victim != client, "the entity moved to the client's node");
    // Before any fault, every "unreachable" is a false suspicion of the failure detector on this loaded machine.
    int suspicionsBeforeKill = 0;
    int downingsBeforeKill = 0;
    for (FulcrumProcess node : nodes) {
      suspicionsBeforeKill += (int) node.stdout().lines().filter(l -> l.contains("as UNREACHABLE")).count();
      downingsBeforeKill += (int) node.stdout().lines().filter(l -> l.contains("SBR took decision")).count();
    }
    long killed = System.nanoTime();
    java.time.LocalTime killedAt = java.time.LocalTime.now();
    nodes[victim].close(); // SIGKILL
    int weight = 2;
    int unavailable = 0;
    // Each call's start and end after the kill and its status, to tell a slow failover from a call that was lost.
    List<String> calls = new ArrayList<>();
    while (true) {
      assertTrue(System.nanoTime() - killed < Duration.ofSeconds(60).toNanos(), "no control within 60 s of the kill");
      long sent = System.nanoTime();
      AdminClient.Response r = adminOf(client).patch("/api/pools/" + pool + "/backends/" + backend, "{\"weight\":" + weight + "}");
      calls.add((sent - killed) / 1_000_000 + "-" + (System.nanoTime() - killed) / 1_000_000 + " ms: " + r.status());
      if (r.status() == 200) break;
      // While the entity moves a change is not applied (503), or, while the lost node is unreachable, its caller
      // cannot be sure it was not (504): the change might have been written just before the kill.
      assertTrue(r.status() == 503 || r.status() == 504, "while the entity moves, calls answer 503 or 504: " + r);
      if (r.status() == 503) assertTrue(r.raw().headers().firstValue("Retry-After").isPresent(), "503 with a retry hint");
      unavailable++;
    }
    long failoverMillis = (System.nanoTime() - killed) / 1_000_000;
    String timeline = failoverTimeline(killedAt, victim, calls);
    System.out.printf("failover (shipped settings): a control change through node %d succeeded %d ms after SIGKILL of node %d "
        + "(%d x 503/504 before); false suspicions before the kill: %d unreachable, %d downed%n%s%n",
        client + 1, failoverMillis, victim + 1, unavailable, suspicionsBeforeKill, downingsBeforeKill, timeline);
    assertTrue(failoverMillis < 10_000, "control back within 10 s of the SIGKILL with the shipped settings, took " + failoverMillis
        + " ms\n" + timeline);
    Eventually.await(Duration.ofSeconds(10), "more traffic after the failover", () -> ok.get() > 100 ? "" : flow.get(), String::isEmpty);
    sending.set(false);
    traffic.join(10_000);
    System.out.printf("traffic through node %d during the failover: %d requests, %d failed%n", client + 1, ok.get() + failed.get(), failed.get());
    assertEquals(0, failed.get(), "failed requests at node " + (client + 1) + ", first: " + firstFailure.get()
        + "; its warnings:\n" + warnings(client));

    start(victim);
    awaitUp(victim);
    for (int n = 0; n < 3; n++) {
      int node = n;
      try {
        Eventually.await(Duration.ofSeconds(30), "node " + (n + 1) + " sees three members up", () -> upMembers(clusterView(node)) == 3);
      } catch (AssertionError notYet) {
        throw new AssertionError(notYet.getMessage() + "\n" + clusterStory(), notYet);
      }
    }
    JsonNode expected = poolOn(client);
    assertEquals(weight, expected.path("backends").get(0).path("weight").asInt(), expected.toString());
    for (int n = 0; n < 3; n++) {
      int node = n;
      Eventually.await(Duration.ofSeconds(10), "node " + (n + 1) + " agrees on the pool", () -> poolOn(node),
          p -> p.path("version").equals(expected.path("version")) && p.path("backends").get(0).path("weight").asInt() == weight);
    }

    // The whole cluster stops and starts again: state and history come back from the journal.
    JsonNode history = adminOf(client).get("/api/pools/" + pool + "/events").json();
    for (FulcrumProcess node : nodes) node.terminate();
    for (FulcrumProcess node : nodes) assertEquals(0, node.awaitExit(60));
    for (int n = 0; n < 3; n++) start(n);
    for (int n = 0; n < 3; n++) awaitUp(n);
    for (int n = 0; n < 3; n++) {
      JsonNode recovered = poolOn(n);
      assertEquals(expected.path("version"), recovered.path("version"));
      assertEquals(weight, recovered.path("backends").get(0).path("weight").asInt());
    }
    assertEquals(history, adminOf(2).get("/api/pools/" + pool + "/events").json());
  }
}
