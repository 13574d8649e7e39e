package dev.fulcrum.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.backend.Health;
import dev.fulcrum.routing.PoolStatus;
import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.RawHttp;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TcpBalancingTest {

  @ParameterizedTest
  @ValueSource(strings = {"nio", "streams"})
  void roundRobinSpreadsConnectionsExactlyEvenly(String engine) throws Exception {
    try (L4Fixture f = new L4Fixture(engine, 3, "", List.of())) {
      awaitAll(f, Health.UP);
      Map<String, Integer> counts = new TreeMap<>();
      for (int i = 0; i < 300; i++) counts.merge(body(f), 1, Integer::sum);
      assertEquals(Map.of("backend-1", 100, "backend-2", 100, "backend-3", 100), counts);
      Eventually.await(Duration.ofSeconds(5), "active connection counts back to 0",
          () -> f.status().backends().stream().allMatch(b -> b.activeConnections() == 0));
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"nio", "streams"})
  void killedBackendIsEjectedWithinFallTimesIntervalAndRejoinsAfterRise(String engine) throws Exception {
    String health = "health-check { interval = 300ms, timeout = 200ms, fall = 2, rise = 3 }";
    try (L4Fixture f = new L4Fixture(engine, 3, health, List.of())) {
      awaitAll(f, Health.UP);
      AtomicBoolean running = new AtomicBoolean(true);
      AtomicInteger failures = new AtomicInteger();
      AtomicInteger served = new AtomicInteger();
      CompletableFuture<Void> load = CompletableFuture.runAsync(() -> {
        while (running.get()) {
          try {
            body(f);
            served.incrementAndGet();
          } catch (RuntimeException e) {
            failures.incrementAndGet();
          }
        }
      });

      long killed = System.nanoTime();
      f.backends.get(1).stop();
      Eventually.await(Duration.ofSeconds(5), "backend-2 down", () -> health(f, 1) == Health.DOWN);
      Duration ejectedAfter = Duration.ofNanos(System.nanoTime() - killed);
      // fall x interval + one timeout = 800 ms; the rest is room for a busy 2-core CI machine.
      assertTrue(ejectedAfter.compareTo(Duration.ofMillis(800 + 700)) <= 0, "ejected after " + ejectedAfter);

      for (int i = 0; i < 60; i++) assertTrue(!body(f).equals("backend-2"));

      // taken before the restart: a check may pass as soon as the port is bound, before start() returns
      long revived = System.nanoTime();
      f.backends.get(1).start();
      Eventually.await(Duration.ofSeconds(10), "backend-2 up again", () -> health(f, 1) == Health.UP);
      Duration rejoinedAfter = Duration.ofNanos(System.nanoTime() - revived);
      // rise = 3 passing checks, 300 ms apart: at least 2 intervals after the first pass.
      assertTrue(rejoinedAfter.compareTo(Duration.ofMillis(2 * 300)) >= 0, "rejoined after only " + rejoinedAfter);
      Eventually.await(Duration.ofSeconds(5), "backend-2 serving again", () -> body(f).equals("backend-2"));

      running.set(false);
      load.get();
      assertEquals(0, failures.get(), "client connections failed while a backend died and came back");
      assertTrue(served.get() > 0);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"nio", "streams"})
  void refusingBackendIsSkippedByConnectRetryAndEjectedPassively(String engine) throws Exception {
    // Active checks are too rare to notice anything here: only the data plane's connect failures can eject.
    String health = "health-check { interval = 1h, fall = 3 }";
    try (L4Fixture f = new L4Fixture(engine, 3, health, List.of())) {
      awaitAll(f, Health.UP);
      f.backends.get(0).stop();
      Map<String, Integer> counts = new TreeMap<>();
      for (int i = 0; i < 30; i++) counts.merge(body(f), 1, Integer::sum);
      assertEquals(30, counts.getOrDefault("backend-2", 0) + counts.getOrDefault("backend-3", 0), counts.toString());
      Eventually.await(Duration.ofSeconds(5), "backend-1 ejected passively", () -> health(f, 0) == Health.DOWN);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"nio", "streams"})
  void clientIsClosedAtOnceWhenNoBackendIsHealthy(String engine) throws Exception {
    String health = "health-check { type = tcp, interval = 200ms, timeout = 200ms, fall = 1 }";
    try (L4Fixture f = new L4Fixture(engine, 1, health, List.of())) {
      f.backends.get(0).stop();
      Eventually.await(Duration.ofSeconds(5), "backend down", () -> health(f, 0) == Health.DOWN);
      long start = System.nanoTime();
      try (java.net.Socket socket = new java.net.Socket("127.0.0.1", f.port())) {
        socket.setSoTimeout(5000);
        assertEquals(-1, socket.getInputStream().read(), "connection should be closed without data");
      } catch (java.net.SocketException reset) {
        // closed with a reset: also closed at once
      }
      assertTrue(Duration.ofNanos(System.nanoTime() - start).toMillis() < 2000);
      assertEquals(1, f.fulcrum.tcpListener("l4").rejectedConnections());
    }
  }

  private static String body(L4Fixture f) {
    return RawHttp.getOnce(f.port(), "/").trim();
  }

  private static Health health(L4Fixture f, int backend) {
    PoolStatus status = f.status();
    return status.backends().get(backend).health();
  }

  private static void awaitAll(L4Fixture f, Health health) {
    Eventually.await(Duration.ofSeconds(10), "all backends " + health,
        () -> f.status().backends().stream().allMatch(b -> b.health() == health));
  }
}
