package dev.fulcrum.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.config.HttpRouteSettings.WeightedPool;
import dev.fulcrum.pool.PoolEntity;
import dev.fulcrum.routes.RouteTableEntity;
import dev.fulcrum.routes.RuntimeChange;
import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.FastCluster;
import dev.fulcrum.testing.HttpBackend;
import dev.fulcrum.testing.NamedBackend;
import dev.fulcrum.testing.PoolHealth;
import dev.fulcrum.testing.RawHttp;
import dev.fulcrum.testing.TestConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A route change made through one node of a three-node cluster (one JVM, one in-memory journal) reaches every node's
 * listener for new requests; and how long that takes, over 100 changes made through the nodes in turn: from sending the
 * change to the moment each node routes by it (told by each node's runtime-change sink, not polled), after 100 changes
 * that warm the nodes up. The 100 ms bar at p99 is asserted with {@code -Dfulcrum.measure=true} only (a loaded build
 * machine is no place for a latency bar): {@code mvn -o test -Dtest=RoutePropagationTest -Dfulcrum.measure=true}.
 */
class RoutePropagationTest {
  private static final String JOURNAL = TestConfig.memoryJournalUrl();
  private static ActorTestKit kit;
  private static HttpBackend blue;
  private static HttpBackend green;
  private static final List<Fulcrum> nodes = new ArrayList<>();
  /** When each node started routing by each version: node index -> version -> nanoTime. */
  private static final List<Map<Long, Long>> seen = List.of(new ConcurrentHashMap<>(), new ConcurrentHashMap<>(), new ConcurrentHashMap<>());

  @BeforeAll
  static void startCluster() {
    kit = ActorTestKit.create("propagation-backends");
    blue = NamedBackend.start(kit.system(), "blue");
    green = NamedBackend.start(kit.system(), "green");
    int seed = TestConfig.freePort();
    for (int n = 0; n < 3; n++) {
      Fulcrum node = Fulcrum.start(TestConfig.of(FastCluster.SETTINGS + """
          pekko.remote.artery.canonical.port = %d
          pekko.cluster.seed-nodes = ["pekko://fulcrum@127.0.0.1:%d"]
          pekko-persistence-jdbc.shared-databases.fulcrum.db.url = "%s"
          fulcrum.pools { blue.backends = ["%s"], green.backends = ["%s"] }
          fulcrum.listeners.http.web { bind = "127.0.0.1:0", routes = [{name = main, pool = blue}] }
          """.formatted(n == 0 ? seed : 0, seed, JOURNAL, blue.address(), green.address())));
      int index = n;
      node.onRuntimeChange(change -> {
        if (change instanceof RuntimeChange.RouteTableChanged t && t.listener().equals("web")) {
          seen.get(index).putIfAbsent(t.state().version(), System.nanoTime());
        }
      });
      nodes.add(node);
    }
    Eventually.await(Duration.ofSeconds(30), "three members up", () -> nodes.stream().allMatch(f ->
        Cluster.get(f.clusterSystem()).state().members().size() == 3));
    for (Fulcrum node : nodes) {
      PoolHealth.awaitAllUp(node, "blue", 1);
      PoolHealth.awaitAllUp(node, "green", 1);
    }
  }

  @AfterAll
  static void stopCluster() {
    for (Fulcrum node : nodes) {
      try {
        node.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
      } catch (Exception e) {
        node.system().terminate();
      }
    }
    kit.shutdownTestKit();
  }

  private static RouteTableEntity.Ok setPool(Fulcrum via, String pool) throws Exception {
    RouteTableEntity.Reply reply = via.changeRoutes("web", PoolEntity.Request.of("propagation-test", Duration.ofSeconds(5)),
        (request, r) -> new RouteTableEntity.SetPools("main", List.of(new WeightedPool(pool, 100)), request, r))
        .toCompletableFuture().get(15, TimeUnit.SECONDS);
    return assertInstanceOf(RouteTableEntity.Ok.class, reply, String.valueOf(reply));
  }

  @Test
  void aChangeThroughOneNodeReachesEveryNodesListenerAndHowFast() throws Exception {
    for (Fulcrum node : nodes) assertEquals("blue", RawHttp.getOnce(node.httpListener("web").localAddress(), "/"));
    long version = setPool(nodes.get(0), "green").state().version();
    for (int n = 0; n < 3; n++) {
      Fulcrum node = nodes.get(n);
      node.awaitRoutes("web", version, Duration.ofSeconds(5)).toCompletableFuture().get();
      assertEquals("green", RawHttp.getOnce(node.httpListener("web").localAddress(), "/"), "node " + (n + 1));
    }

    // as in RouteClusterTest: the first 100 changes warm the nodes up (the JIT compiles the change path), printed apart
    for (boolean warmUp : new boolean[] {true, false}) {
      int changes = 100;
      long[] allNodes = new long[changes];
      long[] commit = new long[changes];
      long[] afterCommit = new long[changes];
      for (int i = 0; i < changes; i++) {
        Fulcrum via = nodes.get(i % 3);
        long sent = System.nanoTime();
        long v = setPool(via, i % 2 == 0 ? "blue" : "green").state().version();
        long committed = System.nanoTime();
        commit[i] = committed - sent;
        for (Fulcrum node : nodes) node.awaitRoutes("web", v, Duration.ofSeconds(5)).toCompletableFuture().get();
        // a node routes by the new table just before its sinks hear of it (they are told outside its lock)
        Eventually.await(Duration.ofSeconds(5), "every node's sink heard version " + v,
            () -> seen.stream().allMatch(node -> node.containsKey(v)));
        long last = 0;
        for (Map<Long, Long> node : seen) last = Math.max(last, node.get(v));
        allNodes[i] = last - sent;
        afterCommit[i] = Math.max(0, last - committed);
      }
      Arrays.sort(allNodes);
      Arrays.sort(commit);
      Arrays.sort(afterCommit);
      // nearest rank: of 100 values, p50 is the 50th smallest and p99 the 99th
      double p50 = allNodes[49] / 1e6;
      double p99 = allNodes[98] / 1e6;
      System.out.printf("route change propagation, 3 nodes, %s: sent -> routed by every node p50 %.1f ms, p99 %.1f ms, "
          + "max %.1f ms; sent -> committed (Ok) p50 %.1f ms, p99 %.1f ms; committed -> routed by every node p50 %.1f ms, "
          + "p99 %.1f ms%n", warmUp ? "the first 100 changes (warm-up)" : "the next 100 changes", p50, p99, allNodes[99] / 1e6,
          commit[49] / 1e6, commit[98] / 1e6, afterCommit[49] / 1e6, afterCommit[98] / 1e6);
      if (!warmUp && Boolean.getBoolean("fulcrum.measure")) assertTrue(p99 < 100, "p99 " + p99 + " ms, bar 100 ms");
    }
    for (Fulcrum node : nodes) {
      assertEquals(nodes.get(0).routeTable("web").orElseThrow(), node.routeTable("web").orElseThrow(), "every node has the same table");
    }
  }
}
