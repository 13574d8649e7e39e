package dev.fulcrum.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.config.HealthCheckSettings;
import dev.fulcrum.config.HostPort;
import dev.fulcrum.nio.EventLoops;
import dev.fulcrum.testing.Eventually;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * A backend's checks hand on only the outcomes that can change what its actor knows: a steady backend, up or down,
 * costs no message per check, and every transition still gets through.
 */
class HealthReportsTest {
  private static final EventLoops loops = new EventLoops("health-reports-test", 1);
  private static final HealthProbes probes = new HealthProbes(loops);

  @AfterAll
  static void stop() {
    loops.stop();
  }

  @Test
  void onlyAPassAfterAPassWhileUpOrAFailureAfterAFailureWhileDownIsRedundant() {
    assertFalse(HealthProbes.redundant(null, true, Health.UP), "the first outcome");
    assertFalse(HealthProbes.redundant(null, false, Health.DOWN), "the first outcome");
    assertTrue(HealthProbes.redundant(true, true, Health.UP));
    assertTrue(HealthProbes.redundant(false, false, Health.DOWN));
    assertFalse(HealthProbes.redundant(true, true, Health.DOWN), "passes count toward rise while down");
    assertFalse(HealthProbes.redundant(false, false, Health.UP), "failures count toward fall while up");
    assertFalse(HealthProbes.redundant(false, true, Health.UP), "a pass forgets a failure");
    assertFalse(HealthProbes.redundant(true, false, Health.DOWN), "a failure forgets a pass");
    assertFalse(HealthProbes.redundant(true, true, Health.UNKNOWN));
    assertFalse(HealthProbes.redundant(false, false, Health.UNKNOWN));
  }

  @Test
  void aSteadyBackendIsCheckedOnWithoutReportsAndAChangeIsReportedAtOnce() throws Exception {
    ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    AtomicInteger accepted = new AtomicInteger();
    Thread acceptor = new Thread(() -> {
      try {
        while (true) {
          Socket s = server.accept();
          accepted.incrementAndGet();
          s.close();
        }
      } catch (IOException closed) {
        // the test closed the server
      }
    }, "health-reports-acceptor");
    acceptor.setDaemon(true);
    acceptor.start();
    HealthCheckSettings tcp = new HealthCheckSettings(HealthCheckSettings.Kind.TCP, "/health", 200, Optional.empty(),
        Duration.ofMillis(100), Duration.ofSeconds(1), 2, 2);
    List<HealthProbes.Outcome> heard = new CopyOnWriteArrayList<>();
    HealthProbes.Schedule checks =
        probes.schedule(HostPort.parse("127.0.0.1:" + server.getLocalPort(), false), tcp, null, heard::add);
    try {
      Eventually.await(Duration.ofSeconds(10), "two passes heard while unknown", () -> heard.size() >= 2);
      checks.healthIs(Health.UP);
      int reported = heard.size();
      int before = accepted.get();
      Eventually.await(Duration.ofSeconds(10), "five more checks", () -> accepted.get() >= before + 5);
      assertTrue(heard.size() <= reported + 1, "passes while up are not reported (one may have been under way): " + heard);

      server.close();
      Eventually.await(Duration.ofSeconds(10), "the first failure heard", () -> heard.get(heard.size() - 1) instanceof HealthProbes.Failed);
      Eventually.await(Duration.ofSeconds(10), "the second failure heard (failures count toward fall while up)",
          () -> heard.stream().filter(o -> o instanceof HealthProbes.Failed).count() >= 2);
      checks.healthIs(Health.DOWN);
      int failuresHeard = heard.size();
      // a refused check ends at once: after 1 s (ten intervals) at most one more report, the one under way
      long until = System.nanoTime() + Duration.ofSeconds(1).toNanos();
      Eventually.await(Duration.ofSeconds(5), "a second", () -> System.nanoTime() > until);
      assertTrue(heard.size() <= failuresHeard + 1, "failures while down are not reported: " + heard);
      assertInstanceOf(HealthProbes.Failed.class, heard.get(heard.size() - 1));
    } finally {
      checks.cancel();
      server.close();
    }
    assertEquals(0, probes.openConnections());
  }
}
