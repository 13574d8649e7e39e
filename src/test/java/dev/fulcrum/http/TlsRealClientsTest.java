package dev.fulcrum.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.testing.PoolHealth;
import dev.fulcrum.testing.TestCertificates;
import java.io.ByteArrayInputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.TrustManagerFactory;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;

/**
 * Real TLS clients against an HTTPS listener with several certificates, on both engines: the JDK's HttpClient trusting
 * the test CA (HTTP/1.1, and HTTP/2 chosen by ALPN where the listener offers it), and {@code openssl s_client} asking
 * for each name (SNI) and for none.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@OnBothEngines
class TlsRealClientsTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(20);

  @Parameter String engine;

  private Path dir;
  private ActorSystem<Void> backends;
  private RecordingBackend web;
  private Fulcrum fulcrum;
  private int port;

  @BeforeParameterizedClassInvocation(injectArguments = false)
  void start() throws IOException {
    dir = Files.createTempDirectory("fulcrum-tls-clients");
    TestCertificates.authority(dir, "ca");
    // the first certificate (the default) is the CA's, for localhost: what HttpClient connects to and verifies
    TestCertificates.run(List.of("openssl", "req", "-x509", "-nodes", "-days", "2", "-newkey", "rsa:2048",
        "-CA", dir.resolve("ca.pem").toString(), "-CAkey", dir.resolve("ca.key").toString(),
        "-keyout", dir.resolve("localhost.key").toString(), "-out", dir.resolve("localhost.pem").toString(),
        "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"));
    TestCertificates.selfSigned(dir, "a", false, "a.example", "www.a.example");
    TestCertificates.selfSigned(dir, "b", true, "*.b.example");
    backends = ActorSystem.create(Behaviors.empty(), "backends");
    web = new RecordingBackend(backends, "web");
    fulcrum = Fulcrum.start(ProxyTests.config(engine, """
        fulcrum.pools.web.backends = ["%s"]
        fulcrum.listeners.http.secure {
          bind = "127.0.0.1:0"
          routes = [{pool = web}]
          tls.certificates = [{cert = "%s", key = "%s"}, {cert = "%s", key = "%s"}, {cert = "%s", key = "%s"}]
          # HTTP/2 is the nio engine's only (a start-up error on pekko): there ALPN offers http/1.1 alone
          http2.enabled = %s
        }
        """.formatted(web.address(), dir.resolve("localhost.pem"), dir.resolve("localhost.key"), dir.resolve("a.pem"),
        dir.resolve("a.key"), dir.resolve("b.pem"), dir.resolve("b.key"), engine.equals("nio") ? "on" : "off")));
    port = fulcrum.httpListener("secure").localAddress().getPort();
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

  // --- the JDK's HttpClient

  @Test
  void httpClientTrustingTheCaGetsTheBackendOverHttp11() throws Exception {
    HttpClient client = client(HttpClient.Version.HTTP_1_1);
    for (int i = 0; i < 3; i++) { // one kept-alive connection, several requests
      HttpResponse<String> response = client.send(get("/h1/" + i), HttpResponse.BodyHandlers.ofString());
      assertEquals(200, response.statusCode());
      assertEquals("web", response.body());
      assertEquals(HttpClient.Version.HTTP_1_1, response.version());
      RecordingBackend.Received received = web.next();
      assertEquals("/h1/" + i, received.target());
      assertEquals("https", received.header("X-Forwarded-Proto"));
    }
  }

  @Test
  void httpClientPreferringHttp2GetsItByAlpnWhereTheListenerOffersIt() throws Exception {
    HttpResponse<String> response = client(HttpClient.Version.HTTP_2).send(get("/h2"), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, response.statusCode());
    assertEquals("web", response.body());
    assertEquals(engine.equals("nio") ? HttpClient.Version.HTTP_2 : HttpClient.Version.HTTP_1_1, response.version(),
        "ALPN picks h2 where the listener offers it (http2.enabled, nio), http/1.1 elsewhere");
    RecordingBackend.Received received = web.next();
    assertEquals("/h2", received.target());
    assertEquals("https", received.header("X-Forwarded-Proto"));
  }

  @Test
  void httpClientWithoutTheCaRefusesTheCertificate() {
    HttpClient untrusting = HttpClient.newBuilder().connectTimeout(TIMEOUT).version(HttpClient.Version.HTTP_1_1).build();
    assertThrows(SSLHandshakeException.class, () -> untrusting.send(get("/untrusted"), HttpResponse.BodyHandlers.ofString()));
    assertEquals(0, web.pending());
  }

  private HttpClient client(HttpClient.Version version) throws Exception {
    return HttpClient.newBuilder().sslContext(trusting(dir.resolve("ca.pem"))).version(version).connectTimeout(TIMEOUT).build();
  }

  private HttpRequest get(String path) {
    return HttpRequest.newBuilder(URI.create("https://localhost:" + port + path)).timeout(TIMEOUT).build();
  }

  // --- openssl s_client: SNI and ALPN as a non-Java client sees them

  @Test
  void sniChoosesEachCertificateAndNoNameOrAnUnknownOneGetsTheFirst() throws Exception {
    Served a = sClient("-servername", "a.example");
    assertEquals("CN=a.example", a.subject);
    assertEquals(new TreeSet<>(List.of("a.example", "www.a.example")), a.dnsNames);
    assertEquals("CN=a.example", sClient("-servername", "www.a.example").subject, "a second name of the certificate");
    Served b = sClient("-servername", "api.b.example");
    assertEquals("CN=*.b.example", b.subject, "the wildcard certificate");
    assertEquals(new TreeSet<>(List.of("*.b.example")), b.dnsNames);
    assertEquals("CN=localhost", sClient("-servername", "localhost").subject);
    // README / reference.conf: the first certificate also serves clients that name none, or a name none holds
    assertEquals("CN=localhost", sClient("-noservername").subject, "no SNI");
    assertEquals("CN=localhost", sClient("-servername", "elsewhere.org").subject, "an unknown name");
    assertEquals("CN=localhost", sClient("-servername", "b.example").subject, "*.b.example does not cover b.example");
  }

  @Test
  void opensslSeesTheAlpnResult() throws Exception {
    Served offered = sClient("-servername", "a.example", "-alpn", "h2,http/1.1");
    assertEquals(engine.equals("nio") ? "h2" : "http/1.1", offered.alpn);
    assertEquals("http/1.1", sClient("-servername", "a.example", "-alpn", "http/1.1").alpn);
  }

  private record Served(String subject, TreeSet<String> dnsNames, String alpn) {}

  private static final Pattern PEM = Pattern.compile("-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", Pattern.DOTALL);
  private static final Pattern ALPN = Pattern.compile("^ALPN protocol: (\\S+)$", Pattern.MULTILINE);

  /** One handshake by {@code openssl s_client} (stdin closed, so it ends after it), and the certificate it was served. */
  private Served sClient(String... options) throws Exception {
    List<String> command = new ArrayList<>(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + port));
    command.addAll(List.of(options));
    Path out = Files.createTempFile(dir, "s_client", ".out");
    Process process = new ProcessBuilder(command)
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
        .redirectErrorStream(true)
        .redirectOutput(out.toFile())
        .start();
    if (!process.waitFor(TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new AssertionError("openssl s_client did not end within " + TIMEOUT + ": " + Files.readString(out));
    }
    String output = Files.readString(out, StandardCharsets.ISO_8859_1);
    Matcher pem = PEM.matcher(output);
    if (!pem.find()) throw new AssertionError("no certificate served to " + command + ":\n" + output);
    X509Certificate leaf = (X509Certificate) CertificateFactory.getInstance("X.509")
        .generateCertificate(new ByteArrayInputStream(pem.group().getBytes(StandardCharsets.US_ASCII)));
    TreeSet<String> dnsNames = new TreeSet<>();
    Collection<List<?>> alternatives = leaf.getSubjectAlternativeNames();
    if (alternatives != null) for (List<?> name : alternatives) if ((Integer) name.get(0) == 2) dnsNames.add((String) name.get(1));
    Matcher alpn = ALPN.matcher(output);
    assertTrue(process.exitValue() == 0, command + " exited " + process.exitValue() + ":\n" + output);
    return new Served(leaf.getSubjectX500Principal().getName(), dnsNames, alpn.find() ? alpn.group(1) : "");
  }

  private static SSLContext trusting(Path pem) throws Exception {
    KeyStore store = KeyStore.getInstance("PKCS12");
    store.load(null, null);
    try (InputStream in = Files.newInputStream(pem)) {
      store.setCertificateEntry("ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
    }
    TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    trust.init(store);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, trust.getTrustManagers(), null);
    return context;
  }
}
