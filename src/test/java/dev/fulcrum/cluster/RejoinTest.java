package dev.fulcrum.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fulcrum.Fulcrum;
import dev.fulcrum.testing.AdminClient;
import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.HttpBackend;
import dev.fulcrum.testing.NamedBackend;
import dev.fulcrum.testing.RawHttp;
import dev.fulcrum.testing.TestConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Down;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A node the cluster downs (here by an explicit Down, as the split-brain resolver would on the minority side of a
 * partition) keeps its listeners and routing, refuses changes with a clear answer, and rejoins the cluster by itself
 * with a new membership, catching up with the changes made meanwhile. Three nodes in one JVM, one H2 journal.
 */
class RejoinTest {
  private final String journal = TestConfig.memoryJournalUrl();
  private final List<Fulcrum> nodes = new ArrayList<>();
  private ActorTestKit backendsKit;

  @AfterEach
  void stop() throws Exception {
    for (Fulcrum node : nodes) {
      try {
        node.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
      } catch (Exception e) {
        node.system().terminate();
      }
    }
    if (backendsKit != null) backendsKit.shutdownTestKit();
  }

  private static int upMembers(AdminClient admin) {
    int up = 0;
    for (JsonNode m : admin.get("/api/cluster").json().path("members")) {
      if (m.path("status").asText().equals("Up") && m.path("reachability").asText().equals("reachable")) up++;
    }
    return up;
  }

  @Test
  void aDownedNodeKeepsRoutingRefusesChangesAndRejoinsByItself() throws Exception {
    backendsKit = ActorTestKit.create("rejoin-backends");
    HttpBackend b1 = NamedBackend.start(backendsKit.system(), "b1");
    HttpBackend b2 = NamedBackend.start(backendsKit.system(), "b2");
    int[] ports = {TestConfig.freePort(), TestConfig.freePort(), TestConfig.freePort()};
    String seeds = String.join(", ", java.util.Arrays.stream(ports).mapToObj(p -> "\"pekko://fulcrum@127.0.0.1:" + p + "\"").toList());
    for (int n = 0; n < 3; n++) {
      nodes.add(Fulcrum.start(TestConfig.of("""
          pekko.remote.artery.canonical.port = %d
          pekko.cluster.seed-nodes = [%s]
          pekko.cluster.jmx.multi-mbeans-in-same-jvm = on
          pekko-persistence-jdbc.shared-databases.fulcrum.db.url = "%s"
          fulcrum.pools.web { backends = ["%s", "%s"] }
          fulcrum.listeners.tcp.web { bind = "127.0.0.1:0", pool = web }
          """.formatted(ports[n], seeds, journal, b1.address(), b2.address()))));
    }
    List<AdminClient> admin = nodes.stream().map(f -> new AdminClient(f.adminAddress(), Optional.empty())).toList();
    Eventually.await(Duration.ofSeconds(30), "three members up", () -> upMembers(admin.get(0)) == 3);

    Fulcrum downed = nodes.get(2);
    ActorSystem<Void> firstIncarnation = downed.clusterSystem();
    Cluster.get(nodes.get(0).clusterSystem()).manager().tell(new Down(Cluster.get(firstIncarnation).selfMember().address()));
    firstIncarnation.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);

    // Out of the cluster: it still routes, reads still answer, changes are refused at once and plainly.
    int tcp = downed.tcpListener("web").localAddress().getPort();
    for (int i = 0; i < 4; i++) assertTrue(RawHttp.getOnce(tcp, "/").startsWith("b"), "the downed node keeps routing");
    AdminClient.Response read = admin.get(2).get("/api/pools/web");
    assertEquals(200, read.status(), read.toString());
    long start = System.nanoTime();
    AdminClient.Response refused = admin.get(2).patch("/api/pools/web/backends/" + b1.address(), "{\"weight\":3}");
    long refusedMillis = (System.nanoTime() - start) / 1_000_000;
    System.out.println("change through a downed node: " + refused + " in " + refusedMillis + " ms");
    if (refused.status() == 503) {
      assertEquals("not-applied", refused.json().path("outcome").asText(), refused.toString());
    } else {
      assertEquals(200, refused.status(), "or it had rejoined already: " + refused);
    }

    // Meanwhile the majority changes the pool.
    AdminClient.Response changed = admin.get(0).patch("/api/pools/web/backends/" + b2.address(), "{\"weight\":7}");
    assertEquals(200, changed.status(), changed.toString());
    long version = changed.json().path("version").asLong();

    long rejoinStart = System.nanoTime();
    Eventually.await(Duration.ofSeconds(60), "the downed node a member again", () -> upMembers(admin.get(2)) == 3);
    System.out.println("rejoined " + (System.nanoTime() - rejoinStart) / 1_000_000 + " ms after its first incarnation ended");
    assertTrue(downed.clusterSystem() != firstIncarnation, "a new incarnation");
    Eventually.await(Duration.ofSeconds(10), "the rejoined node catches up", () -> admin.get(2).get("/api/pools/web").json(),
        p -> p.path("version").asLong() >= version);
    AdminClient.Response through = Eventually.await(Duration.ofSeconds(30), "a change through the rejoined node",
        () -> admin.get(2).patch("/api/pools/web/backends/" + b1.address(), "{\"weight\":4}"), r -> r.status() == 200);
    Eventually.await(Duration.ofSeconds(10), "every node has it", () -> admin.stream().allMatch(a ->
        a.get("/api/pools/web").json().path("version").asLong() == through.json().path("version").asLong()));
  }
}
