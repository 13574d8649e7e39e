package dev.fulcrum.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.testing.PoolHealth;
import dev.fulcrum.testing.TestCertificates;
import dev.fulcrum.testing.TestConfig;
import dev.fulcrum.testing.TlsClients;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.net.ssl.SSLSocket;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A listener's certificate given as one PKCS#12 file and its password (made by keytool) serves HTTPS on both engines
 * and both providers (each engine on one of them) (a wrong password: {@code ListenerTlsStartupCheckTest}).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class Pkcs12ListenerTest {
  private static final String[][] LISTENERS = {{"nio", "jdk"}, {"pekko", "conscrypt"}};

  private Path dir;
  private ActorSystem<Void> backends;
  private RecordingBackend web;
  private Fulcrum fulcrum;

  @BeforeAll
  void start() throws Exception {
    dir = Files.createTempDirectory("fulcrum-pkcs12");
    TestCertificates.pkcs12(dir, "p", "secret", "-1d", 5, "p.example");
    TestCertificates.pemFromPkcs12(dir, "p", "secret"); // the client trusts this certificate
    backends = ActorSystem.create(Behaviors.empty(), "backends");
    web = new RecordingBackend(backends, "web");
    StringBuilder hocon = new StringBuilder("fulcrum.pools.web.backends = [\"" + web.address() + "\"]\n");
    for (String[] l : LISTENERS) {
      hocon.append("""
          fulcrum.listeners.http.%s-%s {
            bind = "127.0.0.1:0", engine = %s, routes = [{pool = web}]
            tls { certificates = [{pkcs12 = "%s", password = "secret"}], provider = %s }
          }
          """.formatted(l[0], l[1], l[0], dir.resolve("p.p12"), l[1]));
    }
    fulcrum = Fulcrum.start(TestConfig.of(hocon + "fulcrum.health-check.timeout = 5s\n"));
    PoolHealth.awaitAllUp(fulcrum, "web", 1);
  }

  @AfterAll
  void stop() throws Exception {
    ProxyTests.stop(fulcrum, backends);
  }

  @Test
  void aPkcs12CertificateServesHttpsOnBothEnginesAndProviders() throws Exception {
    for (String[] l : LISTENERS) {
      int port = fulcrum.httpListener(l[0] + "-" + l[1]).localAddress().getPort();
      // the client checks the chain and the name against the certificate inside the .p12
      try (SSLSocket client = TlsClients.connect(dir.resolve("p.pem"), port, "p.example")) {
        client.getOutputStream().write("GET /p12 HTTP/1.1\r\nHost: p.example\r\nConnection: close\r\n\r\n"
            .getBytes(StandardCharsets.ISO_8859_1));
        String answer = new String(client.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
        assertTrue(answer.startsWith("HTTP/1.1 200"), l[0] + "/" + l[1] + ": " + answer);
        assertTrue(answer.endsWith("web"), answer);
      }
      assertEquals("/p12", web.next().target());
    }
  }
}
