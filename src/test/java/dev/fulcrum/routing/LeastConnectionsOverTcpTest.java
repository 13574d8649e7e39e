package dev.fulcrum.routing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.config.PoolSettings;
import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.HttpBackend;
import dev.fulcrum.testing.PoolHealth;
import dev.fulcrum.testing.RawHttp;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Least connections with real client connections held open through a real TCP listener to real HTTP backends, then a
 * strategy change at runtime that must leave those connections alone.
 */
class LeastConnectionsOverTcpTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(10);
  private static final String[] NAMES = {"a", "b", "c"};
  private static final int[] WEIGHTS = {2, 1, 1};

  private static RoutingFixture live;
  private static Fulcrum fulcrum;

  @BeforeAll
  static void start() {
    live = new RoutingFixture();
    for (String name : NAMES) live.addBackend(name);
    fulcrum = live.start("""
        fulcrum.health-check { interval = 500ms, timeout = 3s }
        fulcrum.pools.lc {
          strategy = least-connections
          backends = [{address = "%s", weight = 2}, "%s", "%s"]
        }
        fulcrum.listeners.tcp.lc { bind = "127.0.0.1:0", pool = lc }
        """.formatted(live.backends.get(0).address(), live.backends.get(1).address(), live.backends.get(2).address()));
  }

  @AfterAll
  static void stop() throws Exception {
    live.close();
  }

  @Test
  void eachNewConnectionGoesToTheLeastLoadedAndAStrategyChangeKeepsOpenConnections() {
    PoolHealth.awaitAllUp(fulcrum, "lc", 3);
    InetSocketAddress listener = fulcrum.tcpListener("lc").localAddress();
    Map<String, List<RawHttp>> held = new HashMap<>();
    for (String name : NAMES) held.put(name, new ArrayList<>());
    try {
      for (int i = 0; i < 8; i++) openAndExpectLeastLoaded(listener, held);
      assertEquals(List.of(4, 2, 2), loads());

      // Free backend b: the next two connections must go there, though a has weight 2.
      held.get("b").forEach(RawHttp::close);
      held.get("b").clear();
      Eventually.await(TIMEOUT, "b's connections closed", () -> loads().get(1) == 0);
      for (int i = 0; i < 2; i++) assertEquals("b", openAndExpectLeastLoaded(listener, held));
      assertEquals(List.of(4, 2, 2), loads());

      // Switch the running pool to smooth weighted round robin.
      long versionBefore = fulcrum.tables().of("lc").current().version();
      PoolSettings lc = fulcrum.settings().pool("lc");
      fulcrum.router("lc").tell(new PoolRouter.Configure(new PoolSettings(
          lc.name(), StrategyKind.WEIGHTED_ROUND_ROBIN, lc.backends(), lc.healthCheck(), lc.strategySettings())));
      RoutingTable switched = Eventually.await(TIMEOUT, "a table with the new strategy",
          () -> fulcrum.tables().of("lc").current(), t -> t.version() > versionBefore && t.size() == 3);
      assertInstanceOf(SmoothWeightedRoundRobin.class, switched.strategy());

      // Every connection opened before the switch still works, and still counts where it was.
      held.forEach((name, connections) -> connections.forEach(c -> assertEquals(name, c.get("/"))));
      assertEquals(List.of(4, 2, 2), loads());

      // New connections follow the weights 2, 1, 1 regardless of load.
      Map<String, Integer> next = new HashMap<>();
      for (int i = 0; i < 4; i++) {
        RawHttp connection = new RawHttp(listener);
        String name = connection.get("/");
        held.get(name).add(connection);
        next.merge(name, 1, Integer::sum);
      }
      assertEquals(Map.of("a", 2, "b", 1, "c", 1), next);
    } finally {
      held.values().forEach(list -> list.forEach(RawHttp::close));
    }
  }

  /** Opens one connection, checks that it went to a backend with the lowest (load + 1) / weight, and keeps it. */
  private static String openAndExpectLeastLoaded(InetSocketAddress listener, Map<String, List<RawHttp>> held) {
    List<Integer> before = loads();
    double best = Double.MAX_VALUE;
    for (int i = 0; i < NAMES.length; i++) best = Math.min(best, (before.get(i) + 1.0) / WEIGHTS[i]);
    RawHttp connection = new RawHttp(listener);
    String name = connection.get("/");
    held.get(name).add(connection);
    int index = List.of(NAMES).indexOf(name);
    assertTrue((before.get(index) + 1.0) / WEIGHTS[index] == best, name + " is not least loaded with loads " + before);
    return name;
  }

  /** Open connections per backend, in the order a, b, c, as the listener counts them. */
  private static List<Integer> loads() {
    RoutingTable table = fulcrum.tables().of("lc").current();
    List<Integer> loads = new ArrayList<>();
    for (HttpBackend backend : live.backends) {
      int load = 0;
      for (int i = 0; i < table.size(); i++) {
        if (table.get(i).address().toString().equals(backend.address())) load = table.get(i).stats().activeConnections();
      }
      loads.add(load);
    }
    return loads;
  }
}
