package dev.fulcrum.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.config.SettingsException;
import dev.fulcrum.config.SettingsParser;
import dev.fulcrum.http.wire.ProxyProtocol;
import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.PoolHealth;
import dev.fulcrum.testing.RawTcpServer;
import dev.fulcrum.testing.TestCertificates;
import dev.fulcrum.testing.TestConfig;
import dev.fulcrum.testing.TlsClients;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * PROXY protocol v1 and v2 accepted on nio L4 listeners from trusted balancers: the client the header names is the
 * one the firewall judges and the backend is told about (the listener sends its own v2 header on); untrusted peers,
 * malformed and missing headers are closed and counted with nothing forwarded. The header also comes before TLS.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TcpProxyProtocolInTest {
  private static final InetSocketAddress CLIENT = new InetSocketAddress("203.0.113.7", 5555);
  private static final InetSocketAddress SERVER = new InetSocketAddress("198.51.100.1", 443);

  /** What each backend connection began with: the listener's PROXY header, then the client's bytes. */
  private final LinkedBlockingQueue<byte[]> received = new LinkedBlockingQueue<>();
  private RawTcpServer backend;
  private Fulcrum fulcrum;
  private Path dir;

  @BeforeAll
  void start() throws IOException {
    dir = Files.createTempDirectory("fulcrum-pp-in");
    TestCertificates.selfSigned(dir, "pp", true, "pp.example");
    backend = new RawTcpServer(socket -> {
      InputStream in = socket.getInputStream();
      ByteArrayOutputStream all = new ByteArrayOutputStream();
      byte[] buffer = new byte[4096];
      // the v2 header the listener sends for IPv4 is 28 bytes; the client's test payload is "hello"
      while (all.size() < 28 + 5) {
        int n = in.read(buffer);
        if (n < 0) break;
        all.write(buffer, 0, n);
      }
      if (all.size() > 0) received.add(all.toByteArray());
      socket.getOutputStream().write("done".getBytes(StandardCharsets.ISO_8859_1));
      socket.shutdownOutput();
    });
    fulcrum = Fulcrum.start(TestConfig.of("""
        fulcrum.pools.raw { backends = ["%s"], health-check.type = tcp }
        fulcrum.listeners.tcp {
          behind-nlb { bind = "127.0.0.1:0", pool = raw, send-proxy-protocol = v2, proxy-protocol.trusted = ["127.0.0.0/8"],
                       firewall.deny = ["192.0.2.0/24"] }
          untrusting { bind = "127.0.0.1:0", pool = raw, proxy-protocol.trusted = ["10.0.0.0/8"] }
          tls-behind-nlb {
            bind = "127.0.0.1:0", pool = raw, send-proxy-protocol = v2, proxy-protocol.trusted = ["127.0.0.1/32"]
            tls.certificates = [{cert = "%s", key = "%s"}]
          }
        }
        """.formatted(backend.address(), dir.resolve("pp.pem"), dir.resolve("pp.key"))));
    PoolHealth.awaitAllUp(fulcrum, "raw", 1);
  }

  @AfterAll
  void stop() throws Exception {
    try {
      fulcrum.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } finally {
      backend.close();
    }
  }

  @BeforeEach
  void clear() {
    received.clear();
  }

  @Test
  void aV1HeaderNamesTheClientTheBackendIsToldAbout() throws Exception {
    byte[] v1 = ProxyProtocol.v1(CLIENT, SERVER);
    assertEquals("done", send("behind-nlb", concat(v1, hello())));
    assertBackendSaw(CLIENT);
  }

  @Test
  void aV2HeaderSplitFromTheBytesAfterItWorksAsWell() throws Exception {
    int port = port("behind-nlb");
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(10_000);
      byte[] v2 = ProxyProtocol.v2(CLIENT, SERVER);
      // the header in two writes, then the payload: the listener waits for the whole header
      socket.getOutputStream().write(v2, 0, 7);
      socket.getOutputStream().flush();
      socket.getOutputStream().write(v2, 7, v2.length - 7);
      socket.getOutputStream().write(hello());
      assertEquals("done", new String(socket.getInputStream().readNBytes(4), StandardCharsets.ISO_8859_1));
    }
    assertBackendSaw(CLIENT);
  }

  @Test
  void theFirewallJudgesTheClientTheHeaderNames() throws Exception {
    long refused = fulcrum.tcpListener("behind-nlb").refusedConnections();
    byte[] v1 = ProxyProtocol.v1(new InetSocketAddress("192.0.2.9", 1234), SERVER);
    assertEquals("", send("behind-nlb", concat(v1, hello())));
    assertEquals(refused + 1, fulcrum.tcpListener("behind-nlb").refusedConnections());
    assertEquals(null, received.poll(300, TimeUnit.MILLISECONDS));
  }

  @Test
  void anUntrustedPeerIsClosedBeforeAByteIsRead() throws Exception {
    long before = fulcrum.tcpListener("untrusting").proxyProtocolRefusals();
    assertEquals("", send("untrusting", concat(ProxyProtocol.v1(CLIENT, SERVER), hello())));
    assertEquals(before + 1, fulcrum.tcpListener("untrusting").proxyProtocolRefusals());
    assertEquals(null, received.poll(300, TimeUnit.MILLISECONDS));
  }

  @Test
  void aMissingOrMalformedHeaderIsClosedAndCounted() throws Exception {
    TcpListener listener = fulcrum.tcpListener("behind-nlb");
    long before = listener.proxyProtocolRefusals();
    assertEquals("", send("behind-nlb", "hello without a header\r\n".getBytes(StandardCharsets.ISO_8859_1)));
    assertEquals("", send("behind-nlb", "PROXY TCP4 1.2.3.4.5 1.2.3.4 1 2\r\nhello".getBytes(StandardCharsets.ISO_8859_1)));
    byte[] truncatedV2 = java.util.Arrays.copyOf(ProxyProtocol.v2(CLIENT, SERVER), 20);
    assertEquals("", sendAndHalfClose("behind-nlb", truncatedV2));
    Eventually.await(Duration.ofSeconds(10), "three refusals counted", () -> listener.proxyProtocolRefusals() >= before + 3);
    assertEquals(null, received.poll(300, TimeUnit.MILLISECONDS));
    assertEquals("done", send("behind-nlb", concat(ProxyProtocol.v1(CLIENT, SERVER), hello())), "the listener unharmed");
  }

  @Test
  void aTruncatedOversizedOrOverlongHeaderIsClosedCountedAndNothingForwarded() throws Exception {
    TcpListener listener = fulcrum.tcpListener("behind-nlb");
    long before = listener.proxyProtocolRefusals();
    // a v1 line the client ends the connection in the middle of
    assertEquals("", sendAndHalfClose("behind-nlb", "PROXY TCP4 198.51.100.1 127.0".getBytes(StandardCharsets.ISO_8859_1)));
    // a v1 line longer than the spec's 107 bytes, with no end in sight
    assertEquals("", send("behind-nlb", ("PROXY TCP4 " + "1".repeat(300)).getBytes(StandardCharsets.ISO_8859_1)));
    // a v2 header claiming a 65535-byte payload (the largest its length can say), then more than the listener buffers
    byte[] v2 = ProxyProtocol.v2(CLIENT, SERVER);
    v2[14] = (byte) 0xff;
    v2[15] = (byte) 0xff;
    assertEquals("", send("behind-nlb", concat(v2, new byte[1000])));
    Eventually.await(Duration.ofSeconds(10), "three refusals counted", () -> listener.proxyProtocolRefusals() >= before + 3);
    assertEquals(before + 3, listener.proxyProtocolRefusals());
    assertEquals(null, received.poll(300, TimeUnit.MILLISECONDS), "nothing forwarded");
    assertEquals("done", send("behind-nlb", concat(ProxyProtocol.v1(CLIENT, SERVER), hello())), "the listener unharmed");
  }

  @Test
  void theHeaderComesBeforeTheTlsHandshake() throws Exception {
    int port = port("tls-behind-nlb");
    try (Socket raw = new Socket("127.0.0.1", port)) {
      raw.getOutputStream().write(ProxyProtocol.v2(CLIENT, SERVER));
      raw.getOutputStream().flush();
      try (SSLSocket tls = (SSLSocket) TlsClients.trusting(dir.resolve("pp.pem")).getSocketFactory()
          .createSocket(raw, "pp.example", port, true)) {
        tls.setSoTimeout(10_000);
        tls.getOutputStream().write(hello());
        tls.getOutputStream().flush();
        assertEquals("done", new String(tls.getInputStream().readNBytes(4), StandardCharsets.ISO_8859_1));
      }
    }
    assertBackendSaw(CLIENT);
  }

  @Test
  void theStreamsEngineRefusesToReadAHeaderWithAnErrorNamingThePath() {
    String message = assertThrows(SettingsException.class, () -> SettingsParser.parse(TestConfig.resolved("""
        fulcrum.pools.raw.backends = ["127.0.0.1:1"]
        fulcrum.listeners.tcp.l4 { bind = "127.0.0.1:0", pool = raw, engine = streams, proxy-protocol.trusted = ["10.0.0.0/8"] }
        """))).getMessage();
    assertTrue(message.contains("fulcrum.listeners.tcp.l4.proxy-protocol.trusted"), message);
    assertTrue(message.contains("engine = nio"), message);
  }

  private void assertBackendSaw(InetSocketAddress client) throws InterruptedException {
    byte[] bytes = received.poll(10, TimeUnit.SECONDS);
    assertTrue(bytes != null, "nothing reached the backend");
    ProxyProtocol.Header header = (ProxyProtocol.Header) ProxyProtocol.parse(ByteBuffer.wrap(bytes), 0, bytes.length);
    assertEquals(client, header.source());
    assertEquals("hello", new String(bytes, header.length(), bytes.length - header.length(), StandardCharsets.ISO_8859_1));
  }

  private int port(String listener) {
    return fulcrum.tcpListener(listener).localAddress().getPort();
  }

  /** Sends the bytes; what comes back until the listener closes ("" when it closes at once). */
  private String send(String listener, byte[] bytes) throws IOException {
    try (Socket socket = new Socket("127.0.0.1", port(listener))) {
      socket.setSoTimeout(10_000);
      try {
        socket.getOutputStream().write(bytes);
        return new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
      } catch (SocketException reset) {
        return "";
      }
    }
  }

  private String sendAndHalfClose(String listener, byte[] bytes) throws IOException {
    try (Socket socket = new Socket("127.0.0.1", port(listener))) {
      socket.setSoTimeout(10_000);
      try {
        socket.getOutputStream().write(bytes);
        socket.shutdownOutput();
        return new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
      } catch (SocketException reset) {
        return "";
      }
    }
  }

  private static byte[] hello() {
    return "hello".getBytes(StandardCharsets.ISO_8859_1);
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] both = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, both, a.length, b.length);
    return both;
  }
}
