package dev.fulcrum.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import dev.fulcrum.Fulcrum;
import dev.fulcrum.backend.Health;
import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.PoolHealth;
import dev.fulcrum.testing.TestCertificates;
import dev.fulcrum.testing.TestConfig;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * TLS from Fulcrum to backends (an HTTPS server whose certificate names backend.internal), per pool: the backend's
 * certificate is verified against the pool's CA file and must carry the expected name, on both HTTP engines and on L4
 * listeners (re-encryption); health checks speak TLS as well, and mark a backend down when it cannot be verified.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BackendTlsTest {
  private Path dir;
  private HttpsServer backend;
  private Fulcrum fulcrum;
  private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  @BeforeAll
  void start() throws Exception {
    dir = Files.createTempDirectory("fulcrum-backend-tls");
    TestCertificates.selfSigned(dir, "backend", true, "backend.internal");
    TestCertificates.authority(dir, "other-ca");
    TestCertificates.run(List.of("openssl", "pkcs12", "-export", "-in", dir.resolve("backend.pem").toString(),
        "-inkey", dir.resolve("backend.key").toString(), "-out", dir.resolve("backend.p12").toString(),
        "-passout", "pass:secret"));
    backend = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 50);
    backend.setHttpsConfigurator(new HttpsConfigurator(serverContext(dir.resolve("backend.p12"))));
    backend.createContext("/", exchange -> {
      byte[] body = ("tls backend saw " + exchange.getRequestURI().getPath()).getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(200, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    backend.start();
    String address = "127.0.0.1:" + backend.getAddress().getPort();
    String ca = dir.resolve("backend.pem").toString();
    fulcrum = Fulcrum.start(TestConfig.of("""
        fulcrum.pools {
          right { backends = ["%1$s"], tls { ca-file = "%2$s", server-name = backend.internal }
                  health-check { type = http, path = "/health", interval = 200ms, rise = 1, fall = 1 } }
          right-tcp-check { backends = ["%1$s"], tls { ca-file = "%2$s", server-name = backend.internal }
                  health-check { type = tcp, interval = 200ms, rise = 1, fall = 1 } }
          # checked rarely: still unknown (and so routed to) when the requests below are made
          wrong-name { backends = ["%1$s"], tls { ca-file = "%2$s", server-name = elsewhere.internal }
                  health-check { interval = 1h } }
          # the same for the pekko engine: failures on one pool may eject its backend (outlier detection)
          wrong-name-2 { backends = ["%1$s"], tls { ca-file = "%2$s", server-name = elsewhere.internal }
                  health-check { interval = 1h } }
          wrong-ca { backends = ["%1$s"], tls { ca-file = "%3$s", server-name = backend.internal }
                  health-check { interval = 1h } }
          system-trust { backends = ["%1$s"], tls { server-name = backend.internal }, health-check { interval = 1h } }
          checked-wrong { backends = ["%1$s"], tls { ca-file = "%2$s", server-name = elsewhere.internal }
                  health-check { type = http, path = "/health", interval = 200ms, rise = 1, fall = 1 } }
        }
        fulcrum.http.max-attempts = 1
        fulcrum.listeners.http {
          nio { bind = "127.0.0.1:0", engine = nio, routes = [
            {path = "/right", pool = right}, {path = "/wrong-name", pool = wrong-name}, {path = "/wrong-ca", pool = wrong-ca},
            {path = "/system-trust", pool = system-trust}] }
          pekko { bind = "127.0.0.1:0", engine = pekko, routes = [
            {path = "/right", pool = right}, {path = "/wrong-name", pool = wrong-name-2}] }
        }
        fulcrum.listeners.tcp.reencrypt { bind = "127.0.0.1:0", pool = right }
        """.formatted(address, ca, dir.resolve("other-ca.pem"))));
  }

  @AfterAll
  void stop() throws Exception {
    try {
      if (fulcrum != null) fulcrum.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } finally {
      backend.stop(0);
    }
  }

  @Test
  void theNioEngineReachesABackendThatProvesTheRightNameAndRefusesOthers() throws Exception {
    assertEquals("200 tls backend saw /right/x", get("nio", "/right/x"));
    // 502 when the request came first, 503 when the pool's first (TLS) check came first and marked the backend down
    assertRefused(status("nio", "/wrong-name/x"), "a certificate for another name");
    assertRefused(status("nio", "/wrong-ca/x"), "a certificate no trusted CA signed");
    assertRefused(status("nio", "/system-trust/x"), "a self-signed certificate against the system trust store");
    assertEquals("200 tls backend saw /right/again", get("nio", "/right/again"), "refusals cost the listener nothing");
  }

  @Test
  void thePekkoEngineVerifiesAsWell() throws Exception {
    assertEquals("200 tls backend saw /right/y", get("pekko", "/right/y"));
    assertRefused(status("pekko", "/wrong-name/y"), "a certificate for another name");
  }

  @Test
  void anL4ListenerEncryptsAgainTowardsItsPool() throws Exception {
    int port = fulcrum.tcpListener("reencrypt").localAddress().getPort();
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(10_000);
      socket.getOutputStream().write("GET /plain-in HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
          .getBytes(StandardCharsets.ISO_8859_1));
      String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
      assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
      assertTrue(answer.endsWith("tls backend saw /plain-in"), answer);
    }
  }

  @Test
  void healthChecksSpeakTlsAndABackendThatCannotBeVerifiedIsDown() {
    PoolHealth.awaitAllUp(fulcrum, "right", 1);
    PoolHealth.awaitAllUp(fulcrum, "right-tcp-check", 1);
    Eventually.await(Duration.ofSeconds(20), "checked-wrong down",
        () -> PoolHealth.status(fulcrum, "checked-wrong").backends().get(0).health() == Health.DOWN);
  }

  private static void assertRefused(int status, String why) {
    assertTrue(status == 502 || status == 503, why + ": " + status);
  }

  private String get(String listener, String path) throws Exception {
    HttpResponse<String> response = send(listener, path);
    return response.statusCode() + " " + response.body();
  }

  private int status(String listener, String path) throws Exception {
    return send(listener, path).statusCode();
  }

  private HttpResponse<String> send(String listener, String path) throws Exception {
    int port = fulcrum.httpListener(listener).localAddress().getPort();
    return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private static SSLContext serverContext(Path p12) throws Exception {
    KeyStore store = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(p12)) {
      store.load(in, "secret".toCharArray());
    }
    KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    keys.init(store, "secret".toCharArray());
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(keys.getKeyManagers(), null, null);
    return context;
  }

}
