package dev.fulcrum.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fulcrum.Fulcrum;
import dev.fulcrum.testing.AdminClient;
import dev.fulcrum.testing.PoolHealth;
import dev.fulcrum.testing.RawTcpServer;
import dev.fulcrum.testing.TestCertificates;
import dev.fulcrum.testing.TestConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * {@code POST /api/tls/reload}: every TLS listener (HTTP and L4) reads its files now; connections open meanwhile go on
 * with the session they have; a bad new file keeps the certificate in use and the answer names listener and file; the
 * call needs the token.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TlsReloadApiTest {
  private static final String TOKEN = "reload-secret";
  private Path dir;
  private RawTcpServer echo;
  private Fulcrum fulcrum;
  private AdminClient admin;

  @BeforeAll
  void start() throws IOException {
    dir = Files.createTempDirectory("fulcrum-tls-reload");
    TestCertificates.selfSigned(dir, "first", true, "first.example");
    TestCertificates.selfSigned(dir, "renewed", true, "renewed.example");
    copy("first");
    echo = RawTcpServer.echo();
    fulcrum = Fulcrum.start(TestConfig.of("""
        fulcrum.admin.token = "%s"
        fulcrum.pools.echo { backends = ["%s"], health-check.type = tcp }
        fulcrum.listeners.tcp.l4tls { bind = "127.0.0.1:0", pool = echo, tls.certificates = [{cert = "%s", key = "%s"}] }
        fulcrum.listeners.http.https {
          bind = "127.0.0.1:0", routes = [{pool = echo}], tls.certificates = [{cert = "%s", key = "%s"}]
        }
        """.formatted(TOKEN, echo.address(), dir.resolve("live.pem"), dir.resolve("live.key"),
        dir.resolve("live.pem"), dir.resolve("live.key"))));
    admin = new AdminClient(fulcrum.adminAddress(), Optional.of(TOKEN));
    PoolHealth.awaitAllUp(fulcrum, "echo", 1);
  }

  @AfterAll
  void stop() throws Exception {
    try {
      if (fulcrum != null) fulcrum.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } finally {
      echo.close();
    }
  }

  @Test
  void reloadTakesTheNewFilesNowKeepsOpenConnectionsAndRefusesABadFileWithItsName() throws Exception {
    int l4 = fulcrum.tcpListener("l4tls").localAddress().getPort();
    int https = fulcrum.httpListener("https").localAddress().getPort();
    try (SSLSocket open = connect(l4, "first")) {
      assertEquals("one", roundTrip(open, "one"));

      copy("renewed");
      AdminClient.Response answer = admin.post("/api/tls/reload", "");
      assertEquals(200, answer.status(), answer.toString());
      JsonNode reloaded = answer.json().get("reloaded");
      assertEquals(2, reloaded.size(), answer.toString());
      reloaded.forEach(l -> assertTrue(l.get("certificates").asText().contains("renewed.example"), answer.toString()));
      assertEquals("renewed.example", subject(l4, "renewed"));
      assertEquals("renewed.example", subject(https, "renewed"));
      assertEquals("two", roundTrip(open, "two"), "a connection open across the reload goes on");

      Files.writeString(dir.resolve("live.key"), "not a key");
      AdminClient.Response bad = admin.post("/api/tls/reload", "");
      assertEquals(422, bad.status(), bad.toString());
      String error = bad.json().get("error").asText();
      assertTrue(error.contains("listener l4tls") && error.contains("listener https"), error);
      assertTrue(error.contains(dir.resolve("live.key").toString()), error);
      assertEquals("renewed.example", subject(l4, "renewed"), "the certificate in use stays");
      assertEquals("three", roundTrip(open, "three"));
    } finally {
      copy("first");
    }
  }

  @Test
  void reloadNeedsTheTokenAndPost() {
    AdminClient anonymous = new AdminClient(fulcrum.adminAddress(), Optional.empty());
    assertEquals(401, anonymous.post("/api/tls/reload", "").status());
    assertEquals(405, admin.get("/api/tls/reload").status());
  }

  private void copy(String name) throws IOException {
    Files.copy(dir.resolve(name + ".key"), dir.resolve("next.key"), StandardCopyOption.REPLACE_EXISTING);
    Files.copy(dir.resolve(name + ".pem"), dir.resolve("next.pem"), StandardCopyOption.REPLACE_EXISTING);
    Files.move(dir.resolve("next.key"), dir.resolve("live.key"), StandardCopyOption.REPLACE_EXISTING);
    Files.move(dir.resolve("next.pem"), dir.resolve("live.pem"), StandardCopyOption.REPLACE_EXISTING);
  }

  /** A TLS socket that trusts only {@code trusted}'s certificate (and checks its name). */
  private SSLSocket connect(int port, String trusted) throws IOException {
    return dev.fulcrum.testing.TlsClients.connect(dir.resolve(trusted + ".pem"), port, trusted + ".example");
  }

  private String subject(int port, String trusted) throws IOException {
    try (SSLSocket socket = connect(port, trusted)) {
      socket.startHandshake();
      X509Certificate leaf = (X509Certificate) socket.getSession().getPeerCertificates()[0];
      return leaf.getSubjectX500Principal().getName().replaceFirst("^CN=", "");
    }
  }

  private static String roundTrip(SSLSocket socket, String text) throws IOException {
    socket.getOutputStream().write(text.getBytes(StandardCharsets.UTF_8));
    socket.getOutputStream().flush();
    return new String(socket.getInputStream().readNBytes(text.length()), StandardCharsets.UTF_8);
  }
}
