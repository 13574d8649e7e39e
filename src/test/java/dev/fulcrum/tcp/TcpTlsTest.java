package dev.fulcrum.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.PoolHealth;
import dev.fulcrum.testing.RawTcpServer;
import dev.fulcrum.testing.TestCertificates;
import dev.fulcrum.testing.TestConfig;
import dev.fulcrum.testing.TlsClients;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * TLS termination on L4 listeners in front of a plain TCP backend (an echo server that counts what reaches it), on
 * both engines: a real client gets its bytes through; plain text, a TLS 1.1 hello and a hello trickled in are closed
 * and counted with nothing forwarded, and the listener serves the next client as before.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ParameterizedClass(name = "engine = {0}")
@ValueSource(strings = {"nio", "streams"})
class TcpTlsTest {
  @Parameter String engine;

  private Path dir;
  private final AtomicLong forwarded = new AtomicLong();
  private RawTcpServer backend;
  private Fulcrum fulcrum;
  private int port;

  @BeforeAll
  void certificates() throws IOException {
    dir = Files.createTempDirectory("fulcrum-tcp-tls");
    TestCertificates.selfSigned(dir, "l4", true, "l4.example");
    backend = new RawTcpServer(socket -> {
      InputStream in = socket.getInputStream();
      byte[] buffer = new byte[4096];
      for (int n; (n = in.read(buffer)) > 0; ) {
        forwarded.addAndGet(n);
        socket.getOutputStream().write(buffer, 0, n);
        if (new String(buffer, 0, n, StandardCharsets.UTF_8).equals("bye")) break; // the backend closes first
      }
      socket.shutdownOutput();
    });
  }

  @AfterAll
  void closeBackend() throws IOException {
    backend.close();
  }

  @BeforeParameterizedClassInvocation(injectArguments = false)
  void start() {
    fulcrum = Fulcrum.start(TestConfig.of("""
        fulcrum.pools.echo { backends = ["%s"], health-check.type = tcp }
        fulcrum.listeners.tcp.secure {
          bind = "127.0.0.1:0", pool = echo, engine = %s
          tls { certificates = [{cert = "%s", key = "%s"}], handshake-timeout = 1s }
        }
        """.formatted(backend.address(), engine, dir.resolve("l4.pem"), dir.resolve("l4.key"))));
    port = fulcrum.tcpListener("secure").localAddress().getPort();
    PoolHealth.awaitAllUp(fulcrum, "echo", 1);
    // A first handshake of a cold JVM on a busy machine can take longer than the 1 s timeout the tests below need:
    // one until it passes, uncounted by the tests (they count from what they find).
    Eventually.await(java.time.Duration.ofSeconds(30), "a first handshake within 1 s", () -> {
      try {
        return echo("warm-up").equals("warm-up");
      } catch (IOException e) {
        return false;
      }
    });
  }

  @AfterParameterizedClassInvocation(injectArguments = false)
  void stop() throws Exception {
    if (fulcrum != null) fulcrum.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  @BeforeEach
  void clear() {
    forwarded.set(0);
  }

  @Test
  void aTlsClientReachesThePlainBackendThroughTheListener() throws Exception {
    assertEquals("hello over tls", echo("hello over tls"));
    // larger than one TLS record each way
    String big = "x".repeat(100_000);
    assertEquals(big, echo(big));
  }

  @Test
  void theClientSeesTheEndWhenTheBackendCloses() throws Exception {
    try (SSLSocket socket = TlsClients.connect(dir.resolve("l4.pem"), port, "l4.example")) {
      socket.getOutputStream().write("bye".getBytes(StandardCharsets.UTF_8));
      assertEquals("bye", new String(socket.getInputStream().readNBytes(3), StandardCharsets.UTF_8));
      // the backend ended its side after "bye": the listener must pass that on as the end (its close_notify), not
      // leave the client waiting
      socket.setSoTimeout(5_000);
      assertEquals(-1, socket.getInputStream().read());
    }
  }

  @Test
  void plainTextOnTheTlsPortIsClosedCountedAndNotForwarded() throws Exception {
    long before = refusals();
    assertClosedAfter("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
    awaitRefusals(before + 1);
    assertEquals(0, forwarded.get());
    assertEquals("still served", echo("still served"));
  }

  @Test
  void aTls11HelloIsRefused() throws Exception {
    long before = refusals();
    assertClosedAfter(TlsClients.tls11ClientHello());
    awaitRefusals(before + 1);
    assertEquals(0, forwarded.get());
  }

  @Test
  void garbageIsRefused() throws Exception {
    long before = refusals();
    byte[] garbage = new byte[3000];
    new java.util.Random(7).nextBytes(garbage);
    garbage[0] = 0x16; // a handshake record's type, then nonsense
    assertClosedAfter(garbage);
    awaitRefusals(before + 1);
    assertEquals(0, forwarded.get());
  }

  @Test
  void aRenegotiationIsRefusedClosedAndCounted() throws Exception {
    long before = refusals();
    try (SSLSocket client = TlsClients.connect(dir.resolve("l4.pem"), port, "l4.example")) {
      javax.net.ssl.SSLParameters parameters = client.getSSLParameters();
      parameters.setProtocols(new String[] {"TLSv1.2"}); // TLS 1.3 has no renegotiation
      client.setSSLParameters(parameters);
      client.getOutputStream().write("before".getBytes(StandardCharsets.UTF_8));
      assertEquals("before", new String(client.getInputStream().readNBytes(6), StandardCharsets.UTF_8));
      boolean refused;
      try {
        client.startHandshake(); // a second hello on the established connection
        client.getOutputStream().write("after".getBytes(StandardCharsets.UTF_8));
        refused = client.getInputStream().read() < 0;
      } catch (IOException alertOrReset) {
        refused = true;
      }
      assertTrue(refused, "renegotiated, and echoed");
    }
    awaitRefusals(before + 1);
    assertEquals(before + 1, refusals(), "one refusal");
    assertEquals(6, forwarded.get(), "only what came before the renegotiation");
    assertEquals("still served", echo("still served"));
  }

  @Test
  void aHelloTrickledInIsClosedAtTheHandshakeTimeout() throws Exception {
    long before = refusals();
    byte[] hello = TlsClients.tls11ClientHello();
    long started = System.nanoTime();
    boolean closed = false;
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(50);
      // a byte every 200 ms, as slowloris: the hello would take 10 s to arrive
      for (int i = 0; i < hello.length && !closed; i++) {
        try {
          socket.getOutputStream().write(hello[i]);
          closed = socket.getInputStream().read() < 0;
        } catch (SocketTimeoutException stillOpen) {
          Thread.sleep(150); // pacing the client, not waiting for a condition
        } catch (SocketException reset) {
          closed = true;
        }
      }
    }
    long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
    assertTrue(closed, "the listener kept a trickling handshake open");
    assertTrue(tookMs >= 900 && tookMs < 5000, "closed after " + tookMs + " ms, the handshake timeout is 1 s");
    awaitRefusals(before + 1);
    assertEquals(0, forwarded.get());
  }

  private String echo(String text) throws IOException {
    try (SSLSocket socket = TlsClients.connect(dir.resolve("l4.pem"), port, "l4.example")) {
      byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
      // written on its own thread: the echo comes back while the rest is still being sent
      Thread writer = new Thread(() -> {
        try {
          socket.getOutputStream().write(bytes);
          socket.getOutputStream().flush();
        } catch (IOException ignored) {
          // the read below fails then
        }
      });
      writer.start();
      byte[] back = socket.getInputStream().readNBytes(bytes.length);
      return new String(back, StandardCharsets.UTF_8);
    }
  }

  /** Sends the bytes on a plain socket; the listener must close it (after an alert, maybe) within 10 s. */
  private void assertClosedAfter(byte[] bytes) throws IOException {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(10_000);
      socket.getOutputStream().write(bytes);
      byte[] answer = new byte[0];
      try {
        answer = socket.getInputStream().readAllBytes();
      } catch (SocketException reset) {
        // closed with a reset: closed all the same
      }
      if (answer.length > 0) assertEquals(0x15, answer[0], "an alert record, if anything");
    }
  }

  private long refusals() {
    return fulcrum.tcpListener("secure").tlsRefusals();
  }

  private void awaitRefusals(long atLeast) {
    Eventually.await(Duration.ofSeconds(10), "the refusal counted", () -> refusals() >= atLeast);
  }

}
