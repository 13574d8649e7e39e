package dev.fulcrum.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.testing.Eventually;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** A TCP listener's max-connections and its CIDR firewall, on both engines. */
class TcpLimitsTest {
  private static final byte[] GET = "GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);

  @ParameterizedTest
  @ValueSource(strings = {"nio", "streams"})
  void connectionsBeyondTheLimitWaitInTheBacklogUntilOneCloses(String engine) throws Exception {
    try (L4Fixture f = new L4Fixture(engine, 1, "", List.of(), "max-connections = 2\n")) {
      f.awaitUp();
      Socket first = open(f);
      try (Socket second = open(f); Socket third = new Socket("127.0.0.1", f.port())) {
        assertTrue(answered(first) && answered(second), "the first two are served");
        third.setSoTimeout(500);
        third.getOutputStream().write(GET);
        // the kernel completed its handshake, but the listener does not take it while two are open
        assertThrows(SocketTimeoutException.class, () -> third.getInputStream().read(), "the third waits");
        assertEquals(2, f.fulcrum.tcpListener("l4").openConnections());
        first.close();
        third.setSoTimeout(10_000);
        assertTrue(readsAnAnswer(third.getInputStream()), "the third is served once the first closed");
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"nio", "streams"})
  void theFirewallClosesRefusedClientsAtOnce(String engine) throws Exception {
    try (L4Fixture f = new L4Fixture(engine, 1, "", List.of(), "firewall.deny = [\"127.0.0.0/8\"]\n")) {
      f.awaitUp();
      try (Socket refused = new Socket("127.0.0.1", f.port())) {
        refused.setSoTimeout(10_000);
        refused.getOutputStream().write(GET);
        assertEquals(-1, refused.getInputStream().read(), "closed without an answer");
      } catch (SocketException reset) {
        // closed with a reset: refused all the same
      }
      Eventually.await(Duration.ofSeconds(5), "the refusal counted",
          () -> f.fulcrum.tcpListener("l4").refusedConnections() == 1);
      assertEquals(0, f.fulcrum.tcpListener("l4").openConnections());
    }
  }

  private static Socket open(L4Fixture f) throws IOException {
    Socket socket = new Socket("127.0.0.1", f.port());
    socket.setSoTimeout(10_000);
    socket.getOutputStream().write(GET);
    return socket;
  }

  private static boolean answered(Socket socket) throws IOException {
    return readsAnAnswer(socket.getInputStream());
  }

  private static boolean readsAnAnswer(InputStream in) throws IOException {
    byte[] head = new byte[12];
    int n = in.readNBytes(head, 0, head.length);
    return n == head.length && new String(head, StandardCharsets.ISO_8859_1).startsWith("HTTP/1.1 200");
  }
}
