package dev.fulcrum.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.backend.Health;
import dev.fulcrum.testing.HangingBackend;
import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.RawHttp;
import dev.fulcrum.testing.RawTcpServer;
import java.io.InputStream;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TcpTimeoutsTest {

  @ParameterizedTest
  @ValueSource(strings = {"nio", "streams"})
  void connectThatHangsTimesOutAndTheNextBackendServes(String engine) throws Exception {
    // Only the data plane's connect failures count here: the active check runs once, at start.
    String health = "health-check { interval = 1h, fall = 2 }";
    try (HangingBackend hanging = new HangingBackend();
        L4Fixture f = new L4Fixture(engine, 1, health, List.of(hanging.address()), "connect-timeout = 300ms")) {
      hanging.fill();
      long slowest = 0;
      for (int i = 0; i < 4; i++) {
        long start = System.nanoTime();
        assertEquals("backend-1", RawHttp.getOnce(f.port(), "/").trim());
        slowest = Math.max(slowest, System.nanoTime() - start);
      }
      // Round robin sends every other connection to the hanging backend first: those wait out the connect timeout.
      assertTrue(slowest >= TimeUnit.MILLISECONDS.toNanos(300), "no connection waited for the connect timeout");
      Eventually.await(Duration.ofSeconds(5), "the hanging backend ejected after 2 timed-out connects",
          () -> f.status().backends().get(1).health() == Health.DOWN);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"nio", "streams"})
  void silentConnectionIsClosedOnBothSidesAfterTheIdleTimeout(String engine) throws Exception {
    CompletableFuture<Long> backendSawCloseAfter = new CompletableFuture<>();
    try (RawTcpServer silent = new RawTcpServer(socket -> {
          long start = System.nanoTime();
          // health checks connect too and close at once; the client's connection is the one that stays open
          boolean closed;
          try {
            closed = socket.getInputStream().read() < 0;
          } catch (java.net.SocketException reset) {
            closed = true;
          }
          if (closed && System.nanoTime() - start > TimeUnit.MILLISECONDS.toNanos(200)) {
            backendSawCloseAfter.complete(System.nanoTime() - start);
          }
        });
        L4Fixture f = new L4Fixture(engine, 0, "health-check.type = tcp", List.of(silent.address()), "idle-timeout = 500ms");
        Socket client = new Socket("127.0.0.1", f.port())) {
      client.setSoTimeout(10_000);
      long start = System.nanoTime();
      assertClosed(client.getInputStream());
      long closedAfter = System.nanoTime() - start;
      assertTrue(closedAfter >= TimeUnit.MILLISECONDS.toNanos(450), "closed after only " + closedAfter / 1_000_000 + " ms");
      assertTrue(closedAfter < TimeUnit.SECONDS.toNanos(5), "closed after " + closedAfter / 1_000_000 + " ms");
      assertTrue(backendSawCloseAfter.get(5, TimeUnit.SECONDS) >= TimeUnit.MILLISECONDS.toNanos(450));
      Eventually.await(Duration.ofSeconds(5), "connection counted closed",
          () -> f.fulcrum.tcpListener("l4").openConnections() == 0);
    }
  }

  /** Closed with a FIN (the nio engine) or a reset (Pekko's idle timeout aborts): either way, no data. */
  private static void assertClosed(InputStream in) throws java.io.IOException {
    try {
      assertEquals(-1, in.read(), "the balancer should close a silent connection");
    } catch (java.net.SocketException reset) {
      assertTrue(reset.getMessage().contains("reset"), reset.toString());
    }
  }
}
