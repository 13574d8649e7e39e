package dev.fulcrum.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fulcrum.Fulcrum;
import dev.fulcrum.config.BackendSettings;
import dev.fulcrum.pool.PoolEntity;
import dev.fulcrum.pool.PoolState;
import dev.fulcrum.testing.AdminClient;
import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.FastCluster;
import dev.fulcrum.testing.TestConfig;
import dev.fulcrum.testing.TestDnsServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.xbill.DNS.Type;

/**
 * In a cluster of three nodes that all follow the same name, one of them resolves it, the one that runs the pool's
 * entity: DNS is asked at the rate of one follower, every change is journaled once, and when that node crashes the
 * follower starts again with the entity on a survivor and goes on following the records.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DnsClusterTest {
  private static final Duration ASK = Duration.ofSeconds(10);
  private final String journal = TestConfig.memoryJournalUrl();
  private final TestDnsServer dns = new TestDnsServer();
  private final List<Fulcrum> nodes = new ArrayList<>();

  @BeforeAll
  void start() {
    dns.addresses("web.test", 1, "127.0.0.2", "127.0.0.3");
    int seedPort = TestConfig.freePort();
    for (int n = 1; n <= 3; n++) nodes.add(Fulcrum.start(config(n == 1 ? seedPort : 0, seedPort)));
    Eventually.await(Duration.ofSeconds(30), "three members up", () -> nodes.stream().allMatch(f ->
        Cluster.get(f.clusterSystem()).state().members().size() == 3));
  }

  private com.typesafe.config.Config config(int port, int seedPort) {
    return TestConfig.of(FastCluster.SETTINGS + """
        pekko.remote.artery.canonical.port = %d
        pekko.cluster.seed-nodes = ["pekko://fulcrum@127.0.0.1:%d"]
        pekko.coordinated-shutdown.run-by-actor-system-terminate = off
        pekko-persistence-jdbc.shared-databases.fulcrum.db.url = "%s"
        fulcrum.dns { servers = ["%s"], timeout = 500ms, min-ttl = 1s, max-ttl = 1s }
        fulcrum.health-check { type = tcp, interval = 1h }
        fulcrum.pools.web { discovery = dns, backends = ["web.test:9"] }
        """.formatted(port, seedPort, journal, dns.address()));
  }

  @AfterAll
  void stop() {
    for (Fulcrum node : nodes) {
      try {
        node.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
      } catch (Exception e) {
        node.system().terminate();
      }
    }
    dns.close();
  }

  @Test
  void theNodeRunningThePoolsEntityAloneResolvesAndTheFollowerMovesWithTheEntity() throws Exception {
    awaitBackends(nodes, "127.0.0.2", "127.0.0.3");

    // one follower asks once a second (TTL 1 s); three would ask three times as often
    int before = dns.queries("web.test", Type.A).size();
    long from = System.nanoTime();
    Eventually.await(Duration.ofSeconds(10), "five seconds", () -> System.nanoTime() - from > TimeUnit.SECONDS.toNanos(5));
    int asked = dns.queries("web.test", Type.A).size() - before;
    assertTrue(asked >= 3 && asked <= 8, asked + " questions in 5 s: one follower asks about 5");
    assertEquals(Map.of("backend-added 127.0.0.2", 1, "backend-added 127.0.0.3", 1), dnsChanges(nodes.get(0)));

    String host = entityNode(nodes.get(0));
    Fulcrum crashed = nodes.stream().filter(n -> address(n).equals(host)).findFirst().orElseThrow();
    List<Fulcrum> survivors = nodes.stream().filter(n -> n != crashed).toList();
    var membership = crashed.clusterSystem();
    crashed.system().terminate(); // no coordinated shutdown: the others see it vanish, as after a crash
    nodes.remove(crashed);
    crashed.system().getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    membership.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);

    dns.addresses("web.test", 1, "127.0.0.3", "127.0.0.4");
    awaitBackends(survivors, "127.0.0.3", "127.0.0.4");
    assertNotEquals(host, entityNode(survivors.get(0)));
    assertEquals(Map.of("backend-added 127.0.0.2", 1, "backend-added 127.0.0.3", 1, "backend-added 127.0.0.4", 1,
        "backend-removed 127.0.0.2", 1), dnsChanges(survivors.get(0)));
  }

  private static void awaitBackends(List<Fulcrum> on, String... hosts) {
    Set<String> wanted = Set.of(hosts);
    Eventually.await(Duration.ofSeconds(60), "backends " + wanted + " on every node", () -> on.stream().allMatch(n -> {
      Set<String> have = new TreeSet<>();
      n.localPools().state("web").filter(PoolState::exists)
          .ifPresent(s -> s.pool().backends().stream().map(BackendSettings::address).forEach(a -> have.add(a.host())));
      return have.equals(wanted);
    }));
  }

  /** The pool's journaled backend changes, "type host" to how often; each must have origin "dns web.test:9". */
  private static Map<String, Integer> dnsChanges(Fulcrum via) {
    JsonNode events = new AdminClient(via.adminAddress(), Optional.empty()).get("/api/pools/web/events").json();
    Map<String, Integer> counts = new HashMap<>();
    for (JsonNode e : events) {
      String type = e.path("type").asText();
      if (!type.startsWith("backend-")) continue;
      assertEquals("dns web.test:9", e.path("origin").asText(), e.toString());
      String address = e.path("address").asText();
      address = address.substring(0, address.lastIndexOf(':'));
      counts.merge(type + " " + address, 1, Integer::sum);
    }
    return counts;
  }

  private static String entityNode(Fulcrum via) throws Exception {
    return via.pool("web").<PoolEntity.Location>ask(PoolEntity.GetLocation::new, ASK).toCompletableFuture()
        .get(20, TimeUnit.SECONDS).node();
  }

  private static String address(Fulcrum node) {
    return Cluster.get(node.clusterSystem()).selfMember().address().toString();
  }
}
