package dev.fulcrum.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.PoolHealth;
import dev.fulcrum.testing.TestCertificates;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;

/** HTTPS listeners with real certificates made by openssl, called by curl and by JSSE sockets, on both engines. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@OnBothEngines
class HttpTlsTest {
  @Parameter String engine;

  private Path dir;
  private ActorSystem<Void> backends;
  private RecordingBackend web;
  private Fulcrum fulcrum;
  private int port;
  private int mtlsPort;

  @BeforeParameterizedClassInvocation(injectArguments = false)
  void start() throws IOException {
    dir = Files.createTempDirectory("fulcrum-tls");
    TestCertificates.selfSigned(dir, "a", false, "a.example");
    TestCertificates.selfSigned(dir, "b", true, "*.b.example");
    TestCertificates.selfSigned(dir, "renewed", false, "renewed.example");
    TestCertificates.authority(dir, "ca");
    TestCertificates.signedClient(dir, "ca", "client-1");
    Files.copy(dir.resolve("a.pem"), dir.resolve("live.pem"));
    Files.copy(dir.resolve("a.key"), dir.resolve("live.key"));
    backends = ActorSystem.create(Behaviors.empty(), "backends");
    web = new RecordingBackend(backends, "web");
    fulcrum = Fulcrum.start(ProxyTests.config(engine, """
        fulcrum.pools.web.backends = ["%s"]
        fulcrum.listeners.http.secure {
          bind = "127.0.0.1:0"
          routes = [{pool = web}]
          tls.certificates = [{cert = "%s", key = "%s"}, {cert = "%s", key = "%s"}]
        }
        fulcrum.listeners.http.mtls {
          bind = "127.0.0.1:0"
          routes = [{pool = web}]
          tls { certificates = [{cert = "%s", key = "%s"}], client-auth = required, client-ca = "%s" }
        }
        """.formatted(web.address(), dir.resolve("live.pem"), dir.resolve("live.key"), dir.resolve("b.pem"),
        dir.resolve("b.key"), dir.resolve("a.pem"), dir.resolve("a.key"), dir.resolve("ca.pem"))));
    port = fulcrum.httpListener("secure").localAddress().getPort();
    mtlsPort = fulcrum.httpListener("mtls").localAddress().getPort();
    PoolHealth.awaitAllUp(fulcrum, "web", 1);
  }

  @AfterParameterizedClassInvocation(injectArguments = false)
  void stop() throws Exception {
    ProxyTests.stop(fulcrum, backends);
  }

  @BeforeEach
  void clear() {
    web.clear();
  }

  @Test
  void curlGetsTheBackendOverHttpsAndTheBackendHearsItWasHttps() {
    String out = curl("https://a.example:" + port + "/x", "--cacert", dir.resolve("a.pem").toString(),
        "--resolve", "a.example:" + port + ":127.0.0.1");
    assertEquals("200 web", out);
    RecordingBackend.Received received = web.next();
    assertEquals("https", received.header("X-Forwarded-Proto"));
  }

  @Test
  void theCertificateIsChosenByTheNameTheClientAsksFor() throws Exception {
    assertEquals("a.example", handshake(port, "a.example").subject);
    assertEquals("*.b.example", handshake(port, "api.b.example").subject, "a wildcard certificate");
    assertEquals("a.example", handshake(port, null).subject, "no SNI: the first certificate");
    assertEquals("a.example", handshake(port, "elsewhere.org").subject, "a name no certificate has: the first");
  }

  @Test
  void onlyTls13And12AreSpokenAndAlpnSaysHttp11() throws Exception {
    Handshake latest = handshake(port, "a.example", "h2", "http/1.1");
    assertEquals("TLSv1.3", latest.protocol);
    assertEquals("http/1.1", latest.alpn);
    assertEquals("TLSv1.2", handshakeWith(port, "a.example", new String[] {"TLSv1.2"}).protocol);
    assertEquals("", handshake(port, "a.example", "h2").alpn, "a client offering only h2 is answered without ALPN");
  }

  @Test
  void mutualTlsLetsInOnlyClientsWithACertificateOfTheCaAndTellsTheBackendWho() {
    String out = curl("https://a.example:" + mtlsPort + "/m", "--cacert", dir.resolve("a.pem").toString(),
        "--resolve", "a.example:" + mtlsPort + ":127.0.0.1",
        "--cert", dir.resolve("client-1.pem").toString(), "--key", dir.resolve("client-1.key").toString());
    assertEquals("200 web", out);
    assertEquals("CN=client-1", web.next().header("X-Client-Cert-Subject"));
    assertThrows(IOException.class, () -> handshakeAndRead(mtlsPort, "a.example"), "no client certificate");
    assertEquals(0, web.pending());
  }

  @Test
  void aSpoofedClientCertSubjectHeaderNeverReachesTheBackend() {
    curl("https://a.example:" + port + "/s", "--cacert", dir.resolve("a.pem").toString(),
        "--resolve", "a.example:" + port + ":127.0.0.1", "-H", "X-Client-Cert-Subject: CN=admin");
    assertEquals(null, web.next().header("X-Client-Cert-Subject"));
  }

  @Test
  void certificatesReloadWhenTheirFilesChangeAndABadFileKeepsTheOldOne() throws Exception {
    try {
      // a broken file first: the certificate in use stays
      Files.writeString(dir.resolve("live.key"), "not a key");
      Files.writeString(dir.resolve("live.pem"), "not a certificate");
      assertEquals("a.example", handshake(port, "a.example").subject);
      replace("renewed");
      Eventually.await(Duration.ofSeconds(20), "the renewed certificate served", () -> {
        try {
          return handshake(port, null).subject.equals("renewed.example");
        } catch (Exception e) {
          return false;
        }
      });
    } finally {
      replace("a");
      Eventually.await(Duration.ofSeconds(20), "the first certificate back", () -> {
        try {
          return handshake(port, null).subject.equals("a.example");
        } catch (Exception e) {
          return false;
        }
      });
    }
  }

  private void replace(String name) throws IOException {
    // as an ACME client renews: the new files are moved into place
    Files.copy(dir.resolve(name + ".key"), dir.resolve("next.key"), StandardCopyOption.REPLACE_EXISTING);
    Files.copy(dir.resolve(name + ".pem"), dir.resolve("next.pem"), StandardCopyOption.REPLACE_EXISTING);
    Files.move(dir.resolve("next.key"), dir.resolve("live.key"), StandardCopyOption.REPLACE_EXISTING);
    Files.move(dir.resolve("next.pem"), dir.resolve("live.pem"), StandardCopyOption.REPLACE_EXISTING);
  }

  /** curl's status and body, "STATUS BODY". */
  private static String curl(String url, String... options) {
    List<String> command = new ArrayList<>(List.of("curl", "-sS", "--max-time", "20", "-w", "%{http_code}", "-o", "-"));
    command.addAll(List.of(options));
    command.add(url);
    String out = TestCertificates.run(command);
    // the body is the backend's name; the status follows it
    return out.substring(out.length() - 3) + " " + out.substring(0, out.length() - 3).trim();
  }

  private record Handshake(String subject, String protocol, String alpn) {}

  private static Handshake handshake(int port, String sni, String... alpn) throws Exception {
    return handshakeWith(port, sni, new String[] {"TLSv1.3", "TLSv1.2"}, alpn);
  }

  private static Handshake handshakeWith(int port, String sni, String[] protocols, String... alpn) throws Exception {
    try (SSLSocket socket = (SSLSocket) trustAll().getSocketFactory().createSocket("127.0.0.1", port)) {
      socket.setSoTimeout(10_000);
      SSLParameters parameters = socket.getSSLParameters();
      parameters.setProtocols(protocols);
      parameters.setServerNames(sni == null ? List.of() : List.of(new SNIHostName(sni)));
      if (alpn.length > 0) parameters.setApplicationProtocols(alpn);
      socket.setSSLParameters(parameters);
      socket.startHandshake();
      X509Certificate leaf = (X509Certificate) socket.getSession().getPeerCertificates()[0];
      String cn = leaf.getSubjectX500Principal().getName().replaceFirst("^CN=", "").replaceFirst(",.*", "");
      return new Handshake(cn, socket.getSession().getProtocol(), socket.getApplicationProtocol());
    }
  }

  /** A handshake without a client certificate, then a request: a server that wants one ends the connection. */
  private static void handshakeAndRead(int port, String sni) throws Exception {
    try (SSLSocket socket = (SSLSocket) trustAll().getSocketFactory().createSocket("127.0.0.1", port)) {
      socket.setSoTimeout(10_000);
      SSLParameters parameters = socket.getSSLParameters();
      parameters.setServerNames(List.of(new SNIHostName(sni)));
      socket.setSSLParameters(parameters);
      socket.getOutputStream().write("GET / HTTP/1.1\r\nHost: a.example\r\n\r\n".getBytes());
      socket.getOutputStream().flush();
      if (socket.getInputStream().read() < 0) throw new IOException("closed without an answer");
    }
  }

  private static SSLContext trustAll() throws Exception {
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, new TrustManager[] {new X509TrustManager() {
      @Override
      public void checkClientTrusted(X509Certificate[] chain, String authType) {}

      @Override
      public void checkServerTrusted(X509Certificate[] chain, String authType) {}

      @Override
      public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
      }
    }}, null);
    return context;
  }
}
