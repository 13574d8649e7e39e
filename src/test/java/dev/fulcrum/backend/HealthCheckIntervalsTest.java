package dev.fulcrum.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.config.HealthCheckSettings;
import dev.fulcrum.config.HostPort;
import dev.fulcrum.nio.EventLoops;
import dev.fulcrum.routing.BackendStats;
import dev.fulcrum.testing.RawTcpServer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * HAProxy's {@code downinter} and {@code fastinter}: the checks a real listening backend sees, counted and timed at its
 * socket, with the interval they replace short (or long) enough that the difference cannot be missed.
 */
class HealthCheckIntervalsTest {
  private static final ActorTestKit kit = ActorTestKit.create();
  private static final EventLoops loops = new EventLoops("health-check-intervals-test", 1);
  private static final HealthProbes probes = new HealthProbes(loops);

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
    loops.stop();
  }

  /** Answers each HTTP check with the status {@code status} holds at the time, noting when each check arrived. */
  private static final class CountingBackend implements AutoCloseable {
    final AtomicInteger status = new AtomicInteger(200);
    final ConcurrentLinkedQueue<long[]> seen = new ConcurrentLinkedQueue<>();
    final RawTcpServer server = new RawTcpServer(socket -> {
      int answer = status.get();
      seen.add(new long[] {System.nanoTime(), answer});
      readHead(socket.getInputStream());
      socket.getOutputStream().write(("HTTP/1.1 " + answer + " X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
          .getBytes(StandardCharsets.ISO_8859_1));
    });

    long checksSince(long nanos) {
      return seen.stream().filter(s -> s[0] >= nanos).count();
    }

    /** When the first check answered {@code answer} arrived. */
    long firstAnswered(int answer) {
      return seen.stream().filter(s -> s[1] == answer).mapToLong(s -> s[0]).min().orElseThrow();
    }

    @Override
    public void close() throws IOException {
      server.close();
    }
  }

  private static void readHead(InputStream in) throws IOException {
    int matched = 0;
    for (int b; matched < 4 && (b = in.read()) >= 0; ) matched = b == "\r\n\r\n".charAt(matched) ? matched + 1 : (b == '\r' ? 1 : 0);
  }

  private static HealthCheckSettings http(Duration interval, int rise, int fall, Duration down, Duration fast) {
    return new HealthCheckSettings(HealthCheckSettings.Kind.HTTP, "/health", 200, Optional.empty(), interval,
        Duration.ofMillis(500), rise, fall, "GET", Optional.empty(), Map.of(), "", Optional.ofNullable(down),
        Optional.ofNullable(fast));
  }

  private static ActorRef<BackendActor.Command> checking(
      CountingBackend backend, HealthCheckSettings check, TestProbe<BackendActor.Transition> router) {
    return kit.spawn(BackendActor.create(
        "pool", HostPort.parse(backend.server.address(), false), check, new BackendStats(), router.ref(), probes));
  }

  private static BackendActor.Transition next(TestProbe<BackendActor.Transition> router, Health health) {
    BackendActor.Transition transition = router.receiveMessage(Duration.ofSeconds(8));
    assertEquals(health, transition.health(), transition.toString());
    return transition;
  }

  @Test
  void aDownBackendIsCheckedAtTheDownIntervalAndStillComesBack() throws Exception {
    try (CountingBackend backend = new CountingBackend()) {
      backend.status.set(500);
      TestProbe<BackendActor.Transition> router = kit.createTestProbe();
      ActorRef<BackendActor.Command> actor =
          checking(backend, http(Duration.ofMillis(100), 2, 1, Duration.ofSeconds(1), null), router);
      next(router, Health.DOWN);

      long from = System.nanoTime();
      // a bounded window in which it must stay down: at the 100 ms interval it would see ~30 checks
      router.expectNoMessage(Duration.ofMillis(3300));
      long checks = backend.checksSince(from);
      assertTrue(checks >= 2 && checks <= 5, checks + " checks in 3.3 s of a down backend with down-interval 1s");

      // The first pass is followed at the fast interval (unset: the 100 ms interval), so rise is not 2 down intervals.
      backend.status.set(200);
      next(router, Health.UP);
      long firstPass = backend.firstAnswered(200);
      Duration toUp = Duration.ofNanos(System.nanoTime() - firstPass);
      assertTrue(toUp.compareTo(Duration.ofMillis(900)) < 0, "up " + toUp.toMillis() + " ms after the first pass");
      kit.stop(actor);
    }
  }

  @Test
  void aBackendOnItsWayDownIsCheckedAtTheFastInterval() throws Exception {
    try (CountingBackend backend = new CountingBackend()) {
      TestProbe<BackendActor.Transition> router = kit.createTestProbe();
      ActorRef<BackendActor.Command> actor =
          checking(backend, http(Duration.ofSeconds(2), 1, 3, null, Duration.ofMillis(100)), router);
      next(router, Health.UP);

      backend.status.set(503);
      BackendActor.Transition down = next(router, Health.DOWN);
      assertTrue(down.reason().startsWith("3 consecutive HTTP checks failed"), down.reason());
      // three failures: at the 2 s interval the last would come 4 s after the first
      Duration firstToDown = Duration.ofNanos(System.nanoTime() - backend.firstAnswered(503));
      assertTrue(firstToDown.compareTo(Duration.ofMillis(1500)) < 0, "down " + firstToDown.toMillis() + " ms after the first failure");
      kit.stop(actor);
    }
  }

  @Test
  void theIntervalFollowsHealthAndTheLastOutcome() {
    HealthCheckSettings check = http(Duration.ofSeconds(2), 2, 3, Duration.ofSeconds(10), Duration.ofMillis(500));
    assertEquals(Duration.ofSeconds(2), HealthProbes.nextInterval(check, Health.UP, true));
    assertEquals(Duration.ofMillis(500), HealthProbes.nextInterval(check, Health.UP, false), "up, failing: going down");
    assertEquals(Duration.ofSeconds(10), HealthProbes.nextInterval(check, Health.DOWN, false));
    assertEquals(Duration.ofMillis(500), HealthProbes.nextInterval(check, Health.DOWN, true), "down, passing: going up");
    assertEquals(Duration.ofSeconds(2), HealthProbes.nextInterval(check, Health.UNKNOWN, true));
    assertEquals(Duration.ofMillis(500), HealthProbes.nextInterval(check, Health.UNKNOWN, false));

    HealthCheckSettings unset = http(Duration.ofSeconds(2), 2, 3, null, null);
    for (Health health : Health.values()) {
      assertEquals(Duration.ofSeconds(2), HealthProbes.nextInterval(unset, health, false), "unset: the interval");
      assertEquals(Duration.ofSeconds(2), HealthProbes.nextInterval(unset, health, true), "unset: the interval");
    }
    // the grid is fine enough for the shortest of the three
    assertEquals(Duration.ofMillis(50).toNanos(), HealthProbes.tickFor(check));
    assertEquals(Duration.ofMillis(20).toNanos(),
        HealthProbes.tickFor(http(Duration.ofSeconds(2), 2, 3, null, Duration.ofMillis(200))));
  }
}
