package dev.fulcrum.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.testing.PoolHealth;
import dev.fulcrum.testing.TestCertificates;
import dev.fulcrum.testing.TlsClients;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The nio engine's HTTPS listener on each TLS provider (JSSE, Conscrypt): answers, picks the certificate by SNI, says
 * http/1.1 by ALPN, resumes sessions, and answers pipelined requests that arrive in one TLS record without waiting for
 * more input from the client.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TlsProviderTest {
  private Path dir;
  private ActorSystem<Void> backends;
  private Fulcrum fulcrum;

  @BeforeAll
  void start() throws IOException {
    dir = Files.createTempDirectory("fulcrum-tls-provider");
    TestCertificates.selfSigned(dir, "a", true, "a.example");
    TestCertificates.selfSigned(dir, "b", true, "b.example");
    backends = ActorSystem.create(Behaviors.empty(), "backends");
    RecordingBackend web = new RecordingBackend(backends, "web");
    String certificates = "[{cert = \"%s\", key = \"%s\"}, {cert = \"%s\", key = \"%s\"}]".formatted(
        dir.resolve("a.pem"), dir.resolve("a.key"), dir.resolve("b.pem"), dir.resolve("b.key"));
    fulcrum = Fulcrum.start(ProxyTests.config("nio", """
        fulcrum.pools.web.backends = ["%s"]
        fulcrum.listeners.http.jdk { bind = "127.0.0.1:0", routes = [{pool = web}], tls.certificates = %s }
        fulcrum.listeners.http.conscrypt {
          bind = "127.0.0.1:0"
          routes = [{pool = web}]
          tls { certificates = %s, provider = conscrypt }
        }
        """.formatted(web.address(), certificates, certificates)));
    PoolHealth.awaitAllUp(fulcrum, "web", 1);
  }

  @AfterAll
  void stop() throws Exception {
    ProxyTests.stop(fulcrum, backends);
  }

  private int port(String provider) {
    return fulcrum.httpListener(provider).localAddress().getPort();
  }

  @ParameterizedTest
  @ValueSource(strings = {"jdk", "conscrypt"})
  void pipelinedRequestsInOneTlsRecordAreAllAnsweredWithoutMoreInput(String provider) throws Exception {
    int requests = 20;
    StringBuilder all = new StringBuilder();
    for (int i = 0; i < requests; i++) all.append("GET /p").append(i).append(" HTTP/1.1\r\nHost: a.example\r\n\r\n");
    try (SSLSocket socket = TlsClients.connect(dir.resolve("a.pem"), port(provider), "a.example")) {
      socket.startHandshake();
      // one write of under 16 KiB: one TLS record holding every request
      socket.getOutputStream().write(all.toString().getBytes(StandardCharsets.ISO_8859_1));
      socket.getOutputStream().flush();
      String answers = readUntil(socket.getInputStream(), "HTTP/1.1 200", requests);
      assertEquals(requests, count(answers, "HTTP/1.1 200"), answers);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"jdk", "conscrypt"})
  void theCertificateIsChosenBySniAndAlpnSaysHttp11(String provider) throws Exception {
    for (String host : List.of("a.example", "b.example")) {
      try (SSLSocket socket = TlsClients.connect(dir.resolve(host.substring(0, 1) + ".pem"), port(provider), host)) {
        SSLParameters parameters = socket.getSSLParameters();
        parameters.setApplicationProtocols(new String[] {"h2", "http/1.1"});
        socket.setSSLParameters(parameters);
        socket.startHandshake(); // fails unless the certificate for host came: the client trusts only that one
        assertEquals("http/1.1", socket.getApplicationProtocol());
        assertEquals("TLSv1.3", socket.getSession().getProtocol());
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"jdk", "conscrypt"})
  void sessionsAreResumed(String provider) {
    // openssl says whether the server took the session back: "Reused" rather than "New"
    Path session = dir.resolve("session-" + provider + ".pem");
    for (String version : List.of("-tls1_3", "-tls1_2")) {
      String first = sClient(provider, version, "-sess_out", session.toString());
      assertTrue(first.contains("New,"), first);
      String second = sClient(provider, version, "-sess_in", session.toString());
      assertTrue(second.contains("Reused,"), version + ": " + second);
    }
  }

  private String sClient(String provider, String version, String... options) {
    List<String> command = new java.util.ArrayList<>(List.of("bash", "-c",
        // a request, then a wait for the answer (TLS 1.3 tickets come after the handshake), then the end of input
        "(printf 'GET / HTTP/1.1\\r\\nHost: a.example\\r\\n\\r\\n'; sleep 1) | timeout 20 openssl s_client -connect "
            + "127.0.0.1:" + port(provider) + " -servername a.example " + version + " " + String.join(" ", options)
            + " 2>&1"));
    return TestCertificates.run(command);
  }

  private static String readUntil(InputStream in, String marker, int times) throws IOException {
    ByteArrayOutputStream got = new ByteArrayOutputStream();
    byte[] buffer = new byte[8192];
    while (count(got.toString(StandardCharsets.ISO_8859_1), marker) < times) {
      int n = in.read(buffer); // the socket's 10 s timeout ends a stall
      if (n < 0) break;
      got.write(buffer, 0, n);
    }
    return got.toString(StandardCharsets.ISO_8859_1);
  }

  private static int count(String text, String marker) {
    int n = 0;
    for (int i = text.indexOf(marker); i >= 0; i = text.indexOf(marker, i + 1)) n++;
    return n;
  }
}
