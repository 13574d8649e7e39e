package dev.fulcrum.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.PrometheusText;
import dev.fulcrum.testing.TestCertificates;
import dev.fulcrum.testing.TestConfig;
import dev.fulcrum.testing.TlsClients;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * HTTPS listeners of both engines, on both TLS providers, count refused handshakes as TCP listeners do
 * ({@code termination="tls-refused"}, here in {@code fulcrum_http_terminations_total}) and bound the handshake by
 * {@code tls.handshake-timeout}: a client that trickles its hello in a byte at a time is closed at the timeout, well
 * before the idle timeout, and counted; a client that completes its handshake is not, and its "Connection: close"
 * answer ends with the connection. A TLS 1.2 client's renegotiation
 * is refused (Conscrypt does; JSSE would serve it) and counted. A ClientHello in one-byte records is answered; an
 * oversized one is refused and counted; a stalled one (part of a hello or none, then nothing) is closed at the
 * handshake timeout and counted, as is a client gone after the ServerHello; a connection idle after its handshake is
 * not.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ParameterizedClass(name = "engine = {0}, provider = {1}")
@CsvSource({"nio, conscrypt", "nio, jdk", "pekko, conscrypt", "pekko, jdk"})
class HttpTlsRefusalsTest {
  @Parameter(0) String engine;
  @Parameter(1) String provider;

  private Path dir;
  private Fulcrum fulcrum;
  private int port;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @BeforeAll
  void certificates() throws IOException {
    dir = Files.createTempDirectory("fulcrum-https-refusals");
    TestCertificates.selfSigned(dir, "h", true, "h.example");
  }

  @BeforeParameterizedClassInvocation(injectArguments = false)
  void start() {
    fulcrum = Fulcrum.start(TestConfig.of("""
        fulcrum.pools.none.backends = ["127.0.0.1:1"]
        fulcrum.listeners.http.https {
          bind = "127.0.0.1:0", engine = %s, routes = [{pool = none}], client-idle-timeout = 30s
          tls { certificates = [{cert = "%s", key = "%s"}], handshake-timeout = 1s, provider = %s }
        }
        """.formatted(engine, dir.resolve("h.pem"), dir.resolve("h.key"), provider)));
    port = fulcrum.httpListener("https").localAddress().getPort();
  }

  @AfterParameterizedClassInvocation(injectArguments = false)
  void stop() throws Exception {
    if (fulcrum != null) fulcrum.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  @Test
  void refusedHandshakesAreCountedAndATrickledOneIsClosedAtTheTimeout() throws Exception {
    double before = refused(scrape());

    try (Socket plain = new Socket("127.0.0.1", port)) {
      plain.setSoTimeout(10_000);
      plain.getOutputStream().write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
      drain(plain.getInputStream());
    }
    awaitRefused(before + 1, "plain HTTP on the TLS port");

    try (Socket old = new Socket("127.0.0.1", port)) {
      old.setSoTimeout(10_000);
      old.getOutputStream().write(TlsClients.tls11ClientHello());
      drain(old.getInputStream());
    }
    awaitRefused(before + 2, "a TLS 1.1 hello");

    long started = System.nanoTime();
    try (Socket trickling = new Socket("127.0.0.1", port)) {
      trickling.setSoTimeout(200);
      OutputStream out = trickling.getOutputStream();
      byte[] hello = TlsClients.tls11ClientHello();
      // a byte of a hello every 200 ms (a whole one would take longer than the idle timeout): closed at the timeout
      boolean closed = false;
      for (int i = 0; i < hello.length && !closed && System.nanoTime() - started < TimeUnit.SECONDS.toNanos(20); i++) {
        try {
          out.write(hello[i % 5]); // the record header, again and again: never a complete hello
          out.flush();
          closed = trickling.getInputStream().read() < 0;
        } catch (java.net.SocketTimeoutException stillOpen) {
          // nothing from the listener yet
        } catch (SocketException reset) {
          closed = true;
        }
      }
      long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
      assertTrue(closed, "still open after " + tookMs + " ms");
      assertTrue(tookMs >= 900 && tookMs < 5000, "closed after " + tookMs + " ms (timeout 1 s, idle timeout 30 s)");
    }
    awaitRefused(before + 3, "a trickled hello");

    try (SSLSocket good = TlsClients.connect(dir.resolve("h.pem"), port, "h.example")) {
      good.startHandshake();
      assertAnsweredAndClosed(good);
    }
    // one more refusal after it: counted alone, the completed handshake before it was not
    try (Socket plain = new Socket("127.0.0.1", port)) {
      plain.setSoTimeout(10_000);
      plain.getOutputStream().write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
      drain(plain.getInputStream());
    }
    awaitRefused(before + 4, "plain HTTP after a completed handshake");
    assertEquals(before + 4, refused(scrape()), "a completed handshake is not a refusal");
  }

  @Test
  void tls10AndSslv2HellosAreRefusedAndCounted() throws Exception {
    double before = refused(scrape());
    for (byte[] hello : java.util.List.of(TlsClients.oldClientHello(1), TlsClients.sslv2ClientHello())) {
      try (Socket old = new Socket("127.0.0.1", port)) {
        old.setSoTimeout(10_000);
        old.getOutputStream().write(hello);
        drain(old.getInputStream());
      }
    }
    awaitRefused(before + 2, "a TLS 1.0 and an SSLv2 hello");
  }

  @Test
  void aRenegotiationIsRefusedAndTheConnectionClosedAndCounted() throws Exception {
    double before = refused(scrape());
    try (SSLSocket client = TlsClients.connect(dir.resolve("h.pem"), port, "h.example")) {
      javax.net.ssl.SSLParameters parameters = client.getSSLParameters();
      parameters.setProtocols(new String[] {"TLSv1.2"}); // TLS 1.3 has no renegotiation
      client.setSSLParameters(parameters);
      client.startHandshake();
      boolean refused;
      try {
        client.startHandshake(); // a second hello on the established connection
        client.getOutputStream().write("GET / HTTP/1.1\r\nHost: h.example\r\nConnection: close\r\n\r\n"
            .getBytes(StandardCharsets.ISO_8859_1));
        refused = client.getInputStream().read() < 0;
      } catch (IOException alertOrReset) {
        refused = true;
      }
      assertTrue(refused, "renegotiated, and answered");
    }
    awaitRefused(before + 1, "a refused renegotiation");
  }

  @Test
  void aClientHelloFragmentedIntoOneByteRecordsAndWritesIsAnswered() throws Exception {
    double before = refused(scrape());
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(10_000);
      socket.setTcpNoDelay(true);
      OutputStream out = socket.getOutputStream();
      // a record per byte of the hello, a write per record (a few hundred: well within the 1 s handshake timeout)
      for (byte[] record : TlsClients.fragment(TlsClients.modernClientHello("h.example"), 1)) {
        out.write(record);
        out.flush();
      }
      int first = socket.getInputStream().read();
      assertEquals(0x16, first, "a ServerHello (a handshake record), not an alert or the end");
      socket.setSoLinger(true, 0); // gone with a reset, as a client closing with the server's flight unread may be
    }
    // the client went away after the ServerHello, its handshake unfinished
    awaitRefused(before + 1, "a client gone after the ServerHello");
    try (SSLSocket good = TlsClients.connect(dir.resolve("h.pem"), port, "h.example")) {
      good.startHandshake();
    }
  }

  @Test
  void anOversizedClientHelloIsRefusedCountedAndTheListenerServes() throws Exception {
    double before = refused(scrape());
    for (byte[] hostile : java.util.List.of(
        // a record header claiming more than the largest record (2^14 + 2048 bytes): refused at the header (nio), or
        // at the handshake timeout, the rest of the record never coming (pekko)
        new byte[] {0x16, 3, 1, 0x48, 0x01, 1, 0, 0x48, 0},
        // a hello of 100 KB, in records of the largest size: more than any server takes
        TlsClients.oversizedClientHello(100_000))) {
      try (Socket socket = new Socket("127.0.0.1", port)) {
        socket.setSoTimeout(10_000);
        try {
          socket.getOutputStream().write(hostile);
        } catch (SocketException refusedWhileSending) {
          // closed before it all arrived: refused
        }
        drain(socket.getInputStream());
      }
    }
    awaitRefused(before + 2, "two oversized hellos");
    try (SSLSocket good = TlsClients.connect(dir.resolve("h.pem"), port, "h.example")) {
      good.startHandshake();
    }
  }

  @Test
  void aStalledHelloIsClosedAtTheHandshakeTimeoutAndCounted() throws Exception {
    double before = refused(scrape());
    byte[] hello = TlsClients.modernClientHello("h.example");
    // ten bytes of a hello, then nothing; and nothing at all after the connect
    for (int sent : new int[] {10, 0}) {
      long started = System.nanoTime();
      try (Socket stalled = new Socket("127.0.0.1", port)) {
        stalled.setSoTimeout(10_000); // well below the idle timeout (30 s), well above the handshake timeout (1 s)
        stalled.getOutputStream().write(hello, 0, sent);
        drain(stalled.getInputStream());
      }
      long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
      assertTrue(tookMs >= 900 && tookMs < 5000, sent + " bytes sent: closed after " + tookMs + " ms (timeout 1 s)");
    }
    awaitRefused(before + 2, "two stalled hellos");
    try (SSLSocket good = TlsClients.connect(dir.resolve("h.pem"), port, "h.example")) {
      good.startHandshake();
    }
  }

  @Test
  void aConnectionIdleAfterItsHandshakeOutlivesTheHandshakeTimeout() throws Exception {
    double before = refused(scrape());
    try (SSLSocket good = TlsClients.connect(dir.resolve("h.pem"), port, "h.example")) {
      good.startHandshake();
      good.setSoTimeout(2000); // twice the handshake timeout, well below the idle timeout
      org.junit.jupiter.api.Assertions.assertThrows(java.net.SocketTimeoutException.class,
          () -> good.getInputStream().read(), "closed while idle after its handshake");
      good.setSoTimeout(10_000);
      assertAnsweredAndClosed(good);
    }
    assertEquals(before, refused(scrape()), "a completed handshake counted as refused");
  }

  /** A "Connection: close" request is answered, and the connection ends with the answer. */
  private static void assertAnsweredAndClosed(SSLSocket socket) throws IOException {
    socket.getOutputStream().write("GET / HTTP/1.1\r\nHost: h.example\r\nConnection: close\r\n\r\n"
        .getBytes(StandardCharsets.ISO_8859_1));
    String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
    assertTrue(answer.startsWith("HTTP/1.1 50"), answer); // the pool's backend is not there: answered all the same
  }

  private static void drain(InputStream in) throws IOException {
    try {
      byte[] answer = in.readAllBytes(); // an alert at most, then the end
      if (answer.length > 0) assertEquals(0x15, answer[0], "an alert, not an HTTP answer");
    } catch (SocketException reset) {
      // closed all the same
    }
  }

  private void awaitRefused(double count, String what) {
    Eventually.await(Duration.ofSeconds(10), what + " counted as tls-refused", this::scrape, m -> refused(m) == count);
  }

  private static double refused(Map<String, Double> metrics) {
    return PrometheusText.value(metrics, "fulcrum_http_terminations_total", "listener=https", "termination=tls-refused");
  }

  private Map<String, Double> scrape() {
    try {
      HttpResponse<String> response = http.send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + fulcrum.adminAddress().getPort() + "/metrics")).build(),
          HttpResponse.BodyHandlers.ofString());
      return PrometheusText.parse(response.body());
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }
}
