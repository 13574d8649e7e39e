package dev.fulcrum.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.testing.TestCertificates;
import dev.fulcrum.testing.TestConfig;
import dev.fulcrum.testing.TlsClients;
import java.io.IOException;
import java.net.Socket;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;

/**
 * The nio HTTPS listener closes a handshake that has not completed within tls.handshake-timeout (a hello trickled in,
 * or none at all), while a client that completed its handshake may stay idle up to the client idle timeout.
 */
class HttpTlsHandshakeTimeoutTest {
  @Test
  void anUnfinishedHandshakeIsClosedAtTheTimeoutAndAFinishedOneIsNot() throws Exception {
    Path dir = Files.createTempDirectory("fulcrum-https-timeout");
    TestCertificates.selfSigned(dir, "h", true, "h.example");
    Fulcrum fulcrum = Fulcrum.start(TestConfig.of("""
        fulcrum.pools.none.backends = ["127.0.0.1:1"]
        fulcrum.listeners.http.https {
          bind = "127.0.0.1:0", engine = nio, routes = [{pool = none}], client-idle-timeout = 30s
          tls { certificates = [{cert = "%s", key = "%s"}], handshake-timeout = 1s }
        }
        """.formatted(dir.resolve("h.pem"), dir.resolve("h.key"))));
    try {
      int port = fulcrum.httpListener("https").localAddress().getPort();
      long started = System.nanoTime();
      try (Socket silent = new Socket("127.0.0.1", port)) {
        silent.setSoTimeout(10_000);
        silent.getOutputStream().write(TlsClients.tls11ClientHello(), 0, 3); // the start of a hello, then nothing
        try {
          byte[] answer = silent.getInputStream().readAllBytes(); // an alert, at most, then the end
          if (answer.length > 0) assertEquals(0x15, answer[0]);
        } catch (SocketException reset) {
          // closed all the same
        }
      }
      long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
      assertTrue(tookMs >= 900 && tookMs < 5000, "closed after " + tookMs + " ms");
      try (SSLSocket idle = TlsClients.connect(dir.resolve("h.pem"), port, "h.example")) {
        idle.startHandshake();
        idle.setSoTimeout(2500);
        // handshaken and idle past the handshake timeout: still open (the read times out rather than ending)
        assertThrowsTimeout(idle);
      }
    } finally {
      fulcrum.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  private static void assertThrowsTimeout(SSLSocket socket) throws IOException {
    try {
      int read = socket.getInputStream().read();
      throw new AssertionError("the connection ended (read " + read + ") though its handshake had completed");
    } catch (java.net.SocketTimeoutException stillOpen) {
      // as expected
    }
  }
}
