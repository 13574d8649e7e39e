package dev.fulcrum.tcp;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.backend.Health;
import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.RawHttp;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** L4: a backend whose connects fail is ejected by outlier detection before health checks would notice. */
class TcpOutlierDetectionTest {
  @ParameterizedTest
  @ValueSource(strings = {"nio", "streams"})
  void aBackendRefusingConnectsIsEjectedAndClientsNeverNotice(String engine) throws Exception {
    // listening for its first health check, closed before any client comes
    ServerSocket soonClosed = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    String refusing = "127.0.0.1:" + soonClosed.getLocalPort();
    // checks and passive connect failures that would take 100 failures in a row to take it down: only the
    // outlier detection can take the refusing backend out
    String pool = "health-check { type = tcp, interval = 500ms, timeout = 5s, fall = 100 }\n"
        + "outlier-detection { consecutive-local-origin-failures = 2, base-ejection-time = 1h, max-ejection-time = 1h }\n";
    try (L4Fixture f = new L4Fixture(engine, 2, pool, List.of(refusing))) {
      Eventually.await(Duration.ofSeconds(20), "all three backends up",
          () -> f.status().backends().stream().filter(b -> b.health() == Health.UP).count() == 3);
      soonClosed.close();
      for (int i = 0; i < 12; i++) {
        String body = RawHttp.getOnce(f.port(), "/").trim();
        assertTrue(body.startsWith("backend-"), "request " + i + ": a failed connect is retried: " + body);
      }
      Eventually.await(Duration.ofSeconds(5), "the refusing backend ejected", () -> f.status().backends().stream()
          .anyMatch(b -> b.address().toString().equals(refusing) && b.health() == Health.EJECTED));
    }
  }
}
