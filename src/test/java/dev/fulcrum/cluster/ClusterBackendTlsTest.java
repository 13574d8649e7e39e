package dev.fulcrum.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import dev.fulcrum.Fulcrum;
import dev.fulcrum.testing.AdminClient;
import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.FastCluster;
import dev.fulcrum.testing.TestCertificates;
import dev.fulcrum.testing.TestConfig;
import dev.fulcrum.testing.TlsClients;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Two nodes, one journal: TLS to a pool's backends set through one node's admin API is journaled and replicated, and
 * the other node's L4 listener then reaches the HTTPS backend over TLS (and back in plain text when it is turned off).
 */
class ClusterBackendTlsTest {
  private static final String JOURNAL = TestConfig.memoryJournalUrl();
  private static final List<Fulcrum> nodes = new ArrayList<>();
  private static Path dir;
  private static HttpsServer backend;

  @BeforeAll
  static void start() throws Exception {
    dir = Files.createTempDirectory("fulcrum-cluster-tls");
    TestCertificates.selfSigned(dir, "backend", true, "backend.internal");
    backend = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 50);
    backend.setHttpsConfigurator(new HttpsConfigurator(TlsClients.server(dir, "backend")));
    backend.createContext("/", exchange -> {
      byte[] body = ("tls backend saw " + exchange.getRequestURI().getPath()).getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(200, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    backend.start();
    int seedPort = TestConfig.freePort();
    for (int n = 1; n <= 2; n++) nodes.add(Fulcrum.start(config(n == 1 ? seedPort : 0, seedPort)));
    Eventually.await(Duration.ofSeconds(30), "two members up", () -> nodes.stream().allMatch(f ->
        Cluster.get(f.clusterSystem()).state().members().size() == 2));
  }

  private static com.typesafe.config.Config config(int port, int seedPort) {
    return TestConfig.of(FastCluster.SETTINGS + """
        pekko.remote.artery.canonical.port = %d
        pekko.cluster.seed-nodes = ["pekko://fulcrum@127.0.0.1:%d"]
        pekko-persistence-jdbc.shared-databases.fulcrum.db.url = "%s"
        fulcrum.pools.secure {
          backends = ["127.0.0.1:%d"]
          health-check { type = tcp, interval = 1h }
          outlier-detection { consecutive-local-origin-failures = 0, consecutive-gateway-errors = 0 }
        }
        fulcrum.listeners.tcp.front { bind = "127.0.0.1:0", pool = secure }
        """.formatted(port, seedPort, JOURNAL, backend.getAddress().getPort()));
  }

  @AfterAll
  static void stop() {
    for (Fulcrum node : nodes) {
      try {
        node.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
      } catch (Exception e) {
        node.system().terminate();
      }
    }
    backend.stop(0);
  }

  @Test
  void tlsSetOnOneNodeIsUsedByTheOther() {
    AdminClient first = new AdminClient(nodes.get(0).adminAddress(), Optional.empty());
    AdminClient.Response set = first.put("/api/pools/secure/tls",
        "{\"ca-file\": \"%s\", \"server-name\": \"backend.internal\"}".formatted(dir.resolve("backend.pem")));
    assertEquals(200, set.status(), set.toString());
    long version = set.json().path("version").asLong();

    int port = nodes.get(1).tcpListener("front").localAddress().getPort();
    String answer = Eventually.await(Duration.ofSeconds(30), "the second node through TLS", () -> get(port, "/second"),
        a -> a.startsWith("HTTP/1.1 200"));
    assertTrue(answer.endsWith("tls backend saw /second"), answer);
    AdminClient second = new AdminClient(nodes.get(1).adminAddress(), Optional.empty());
    Eventually.await(Duration.ofSeconds(10), "the second node's view at version " + version,
        () -> second.get("/api/pools/secure").json().path("version").asLong() >= version);
    assertEquals("backend.internal", second.get("/api/pools/secure").json().path("tls").path("server-name").asText());

    assertEquals(200, second.put("/api/pools/secure/tls", "{\"enabled\": false}").status());
    Eventually.await(Duration.ofSeconds(30), "the first node in plain text again",
        () -> !get(nodes.get(0).tcpListener("front").localAddress().getPort(), "/first").startsWith("HTTP/1.1 200"));
  }

  private static String get(int port, String path) {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(10_000);
      socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
          .getBytes(StandardCharsets.ISO_8859_1));
      return new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
    } catch (java.io.IOException e) {
      return e.toString();
    }
  }
}
