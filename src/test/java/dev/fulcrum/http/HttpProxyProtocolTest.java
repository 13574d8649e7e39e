package dev.fulcrum.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.PoolHealth;
import dev.fulcrum.testing.RawTcpServer;
import dev.fulcrum.testing.TestCertificates;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The PROXY protocol from balancers in front (AWS NLB, HAProxy's send-proxy), on the nio engine: the client address
 * it names is the one the firewall and the backend see; only trusted peers may send one.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HttpProxyProtocolTest {
  private Path dir;
  private ActorSystem<Void> backends;
  private RecordingBackend web;
  private Fulcrum fulcrum;
  private RawTcpServer proxied;
  private final java.util.concurrent.BlockingQueue<String> headers = new java.util.concurrent.LinkedBlockingQueue<>();

  @BeforeAll
  void start() throws Exception {
    dir = Files.createTempDirectory("fulcrum-proxy");
    TestCertificates.selfSigned(dir, "a", false, "a.example");
    backends = ActorSystem.create(Behaviors.empty(), "backends");
    web = new RecordingBackend(backends, "web");
    proxied = new RawTcpServer(this::serveAfterProxyHeader);
    fulcrum = Fulcrum.start(ProxyTests.config("nio", """
        fulcrum.pools.web.backends = ["%s"]
        fulcrum.pools.proxied { backends = ["%s"], health-check.type = tcp }
        fulcrum.http.pools.proxied.send-proxy-protocol = v1
        fulcrum.listeners.http.to-proxied { bind = "127.0.0.1:0", routes = [{pool = proxied}] }
        fulcrum.listeners.http.behind-lb {
          bind = "127.0.0.1:0", routes = [{pool = web}]
          proxy-protocol.trusted = ["127.0.0.0/8"]
          firewall.deny = ["203.0.113.0/24"]
        }
        fulcrum.listeners.http.other-lb { bind = "127.0.0.1:0", routes = [{pool = web}], proxy-protocol.trusted = ["10.0.0.0/8"] }
        fulcrum.listeners.http.secure-behind-lb {
          bind = "127.0.0.1:0", routes = [{pool = web}]
          proxy-protocol.trusted = ["127.0.0.0/8"]
          tls.certificates = [{cert = "%s", key = "%s"}]
        }
        """.formatted(web.address(), proxied.address(), dir.resolve("a.pem"), dir.resolve("a.key"))));
    PoolHealth.awaitAllUp(fulcrum, "web", 1);
    PoolHealth.awaitAllUp(fulcrum, "proxied", 1);
  }

  @AfterAll
  void stop() throws Exception {
    ProxyTests.stop(fulcrum, backends);
    proxied.close();
  }

  @BeforeEach
  void clear() {
    web.clear();
  }

  private int port(String listener) {
    return fulcrum.httpListener(listener).localAddress().getPort();
  }

  @Test
  void theClientAddressOfAV1HeaderIsWhatTheBackendSees() throws Exception {
    String answer = exchange(port("behind-lb"),
        "PROXY TCP4 198.51.100.23 127.0.0.1 40001 80\r\nGET /v1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            .getBytes(StandardCharsets.ISO_8859_1));
    assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
    assertEquals("198.51.100.23", web.next().header("X-Forwarded-For"));
  }

  @Test
  void aV2HeaderWorksAndTheFirewallJudgesTheAddressInIt() throws Exception {
    ByteArrayOutputStream request = new ByteArrayOutputStream();
    request.writeBytes(v2(InetAddress.getByName("203.0.113.9"), 5555));
    request.writeBytes("GET /v2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
    String answer = exchange(port("behind-lb"), request.toByteArray());
    assertTrue(answer.startsWith("HTTP/1.1 403"), "203.0.113.0/24 is denied: " + answer);
    assertEquals(0, web.pending());
  }

  @Test
  void aPeerNotTrustedToSendTheHeaderIsClosedAtOnce() throws Exception {
    String answer = exchange(port("other-lb"),
        "PROXY TCP4 198.51.100.23 127.0.0.1 40001 80\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
    assertEquals("", answer);
    assertEquals(0, web.pending());
  }

  @Test
  void aRequestWithoutTheHeaderIsClosed() throws Exception {
    assertEquals("", exchange(port("behind-lb"), "GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1)));
    assertEquals(0, web.pending());
  }

  @Test
  void everyRefusedHeaderIsCountedAndTheListenerServesOn() throws Exception {
    double untrusted = proxyRefused("other-lb");
    double behind = proxyRefused("behind-lb");
    byte[] header = "PROXY TCP4 198.51.100.23 127.0.0.1 40001 80\r\n".getBytes(StandardCharsets.ISO_8859_1);
    assertEquals("", exchange(port("other-lb"), header));
    assertEquals("", exchange(port("behind-lb"), "GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1)));
    assertEquals("", exchange(port("behind-lb"), ("PROXY TCP4 " + "9".repeat(120) + "\r\n").getBytes(StandardCharsets.ISO_8859_1)),
        "a v1 line longer than 107 bytes");
    try (Socket truncated = new Socket("127.0.0.1", port("behind-lb"))) {
      truncated.setSoTimeout(10_000);
      truncated.getOutputStream().write(java.util.Arrays.copyOf(header, 20));
      truncated.shutdownOutput();
      assertEquals(-1, truncated.getInputStream().read(), "closed once the client ended within the header");
    }
    Eventually.await(java.time.Duration.ofSeconds(10), "the refusals counted",
        () -> proxyRefused("other-lb") == untrusted + 1 && proxyRefused("behind-lb") == behind + 3);
    assertEquals(0, web.pending(), "nothing forwarded");
    theClientAddressOfAV1HeaderIsWhatTheBackendSees();
  }

  /** {@code fulcrum_http_terminations_total{termination="proxy-refused"}} of a listener, as TCP listeners count theirs. */
  private double proxyRefused(String listener) {
    try {
      String metrics = new dev.fulcrum.testing.AdminClient(fulcrum.adminAddress(), java.util.Optional.empty()).get("/metrics").body();
      return dev.fulcrum.testing.PrometheusText.value(dev.fulcrum.testing.PrometheusText.parse(metrics),
          "fulcrum_http_terminations_total", "listener=" + listener, "termination=proxy-refused");
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void theHeaderComesBeforeTheTlsHandshake() throws Exception {
    try (Socket raw = new Socket("127.0.0.1", port("secure-behind-lb"))) {
      raw.setSoTimeout(10_000);
      raw.getOutputStream().write("PROXY TCP4 198.51.100.77 127.0.0.1 40001 443\r\n".getBytes(StandardCharsets.ISO_8859_1));
      try (SSLSocket tls = (SSLSocket) trusting(dir.resolve("a.pem")).getSocketFactory()
          .createSocket(raw, "a.example", raw.getPort(), true)) {
        tls.getOutputStream().write("GET /tls HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
        String answer = new String(tls.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
        assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
      }
    }
    RecordingBackend.Received received = web.next();
    assertEquals("198.51.100.77", received.header("X-Forwarded-For"));
    assertEquals("https", received.header("X-Forwarded-Proto"));
  }

  @Test
  void eachClientsBackendConnectionsBeginWithAHeaderNamingThatClient() throws Exception {
    headers.clear();
    int port = port("to-proxied");
    try (RawHttp first = new RawHttp(port); RawHttp second = new RawHttp(port)) {
      for (RawHttp client : new RawHttp[] {first, second, first}) {
        client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assertEquals(200, client.read().status());
      }
      // one connection per client: the first client's second request reused its own, with no second header
      String one = headers.poll(10, java.util.concurrent.TimeUnit.SECONDS);
      String two = headers.poll(10, java.util.concurrent.TimeUnit.SECONDS);
      assertEquals(null, headers.poll(200, java.util.concurrent.TimeUnit.MILLISECONDS));
      String expectedFirst = "PROXY TCP4 127.0.0.1 127.0.0.1 " + first.localPort() + " " + port;
      String expectedSecond = "PROXY TCP4 127.0.0.1 127.0.0.1 " + second.localPort() + " " + port;
      assertEquals(java.util.Set.of(expectedFirst, expectedSecond), java.util.Set.of(one, two));
    }
  }

  /** Reads the PROXY line a connection begins with, then answers each request on it. */
  private void serveAfterProxyHeader(Socket socket) throws java.io.IOException {
    java.io.BufferedReader in = new java.io.BufferedReader(
        new java.io.InputStreamReader(socket.getInputStream(), StandardCharsets.ISO_8859_1));
    String header = in.readLine();
    if (header == null) return; // a health check's connect
    headers.add(header);
    String line;
    while ((line = in.readLine()) != null) {
      if (!line.isEmpty()) continue;
      socket.getOutputStream().write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".getBytes(StandardCharsets.ISO_8859_1));
    }
  }

  /** Sends the bytes and reads until the server closes; what came back ("" when closed without an answer). */
  private static String exchange(int port, byte[] bytes) throws Exception {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(10_000);
      socket.getOutputStream().write(bytes);
      InputStream in = socket.getInputStream();
      try {
        return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
      } catch (java.net.SocketException reset) {
        return "";
      }
    }
  }

  private static byte[] v2(InetAddress client, int port) {
    ByteBuffer b = ByteBuffer.allocate(16 + 12);
    b.put(new byte[] {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x21, 0x11, 0x00, 0x0C});
    b.put(client.getAddress()).put(new byte[] {127, 0, 0, 1}).putShort((short) port).putShort((short) 80);
    return b.array();
  }

  private static SSLContext trusting(Path pem) throws Exception {
    KeyStore store = KeyStore.getInstance("PKCS12");
    store.load(null, null);
    try (InputStream in = Files.newInputStream(pem)) {
      store.setCertificateEntry("a", CertificateFactory.getInstance("X.509").generateCertificate(in));
    }
    TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    trust.init(store);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, trust.getTrustManagers(), null);
    return context;
  }
}
