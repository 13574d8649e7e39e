package dev.fulcrum.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.config.HealthCheckSettings;
import dev.fulcrum.config.HostPort;
import dev.fulcrum.nio.EventLoops;
import dev.fulcrum.routing.BackendStats;
import dev.fulcrum.testing.HttpBackend;
import dev.fulcrum.testing.RawTcpServer;
import java.io.OutputStream;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

class HealthCheckTest {
  private static final ActorTestKit kit = ActorTestKit.create();
  private static final Duration INTERVAL = Duration.ofMillis(100);
  private static final EventLoops loops = new EventLoops("health-check-test", 1);
  private static final HealthProbes probes = new HealthProbes(loops);

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
    loops.stop();
  }

  private record Answer(int status, String body) {}

  /** An HTTP backend that answers every request with whatever {@code answer} holds at the time. */
  private static HttpBackend answering(AtomicReference<Answer> answer) {
    return new HttpBackend(kit.system(), request -> {
      Answer a = answer.get();
      return CompletableFuture.completedFuture(HttpResponse.create().withStatus(a.status()).withEntity(a.body()));
    });
  }

  /** A backend actor checking {@code address}, reporting its transitions to {@code router}. */
  private static ActorRef<BackendActor.Command> checking(
      String address, HealthCheckSettings check, BackendStats stats, TestProbe<BackendActor.Transition> router) {
    return kit.spawn(BackendActor.create("pool", HostPort.parse(address, false), check, stats, router.ref(), probes));
  }

  /** The router's next transition, which must be to {@code health}. */
  private static BackendActor.Transition next(TestProbe<BackendActor.Transition> router, Health health) {
    BackendActor.Transition transition = router.receiveMessage(Duration.ofSeconds(5));
    assertEquals(health, transition.health(), transition.toString());
    return transition;
  }

  @Test
  void httpCheckHonoursExpectedStatusAndBody() {
    AtomicReference<Answer> answer = new AtomicReference<>(new Answer(200, "up"));
    try (HttpBackend backend = answering(answer)) {
      HealthCheckSettings check = new HealthCheckSettings(
          HealthCheckSettings.Kind.HTTP, "/health", 200, Optional.of("up"), INTERVAL, Duration.ofMillis(500), 2, 2);
      TestProbe<BackendActor.Transition> router = kit.createTestProbe();
      ActorRef<BackendActor.Command> actor = checking(backend.address(), check, new BackendStats(), router);

      next(router, Health.UP);

      answer.set(new Answer(200, "degraded"));
      BackendActor.Transition down = next(router, Health.DOWN);
      assertTrue(down.reason().contains("body was 'degraded', expected 'up'"), down.reason());

      answer.set(new Answer(200, "up"));
      next(router, Health.UP);

      answer.set(new Answer(503, "up"));
      BackendActor.Transition unavailable = next(router, Health.DOWN);
      assertTrue(unavailable.reason().contains("answered 503, expected 200"), unavailable.reason());
      kit.stop(actor);
    }
  }

  @Test
  void everyTransitionIsLoggedAtInfoWithItsReason() {
    ch.qos.logback.classic.Logger logger =
        (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(BackendActor.class);
    ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> logged =
        new ch.qos.logback.core.read.ListAppender<>();
    logged.start();
    logger.addAppender(logged);
    try (RawTcpServer server = new RawTcpServer(socket -> {})) {
      HealthCheckSettings check = new HealthCheckSettings(
          HealthCheckSettings.Kind.TCP, "/", 200, Optional.empty(), INTERVAL, Duration.ofMillis(500), 1, 1);
      TestProbe<BackendActor.Transition> router = kit.createTestProbe();
      int actors = 5;
      for (int i = 0; i < actors; i++) checking(server.address(), check, new BackendStats(), router);
      for (int i = 0; i < actors; i++) next(router, Health.UP);
      // The router hears of a transition only after it was logged.
      long lines = logged.list.stream()
          .filter(e -> e.getLevel() == ch.qos.logback.classic.Level.INFO)
          .filter(e -> e.getFormattedMessage().equals(
              "pool pool backend " + server.address() + " is up: first TCP check passed"))
          .count();
      assertEquals(actors, lines, "transition log lines");
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    } finally {
      logger.detachAppender(logged);
    }
  }

  @Test
  void riseAndFallCountConsecutiveResults() {
    AtomicReference<Answer> answer = new AtomicReference<>(new Answer(200, "up"));
    try (HttpBackend backend = answering(answer)) {
      HealthCheckSettings check = new HealthCheckSettings(
          HealthCheckSettings.Kind.HTTP, "/health", 200, Optional.empty(), INTERVAL, Duration.ofMillis(500), 3, 3);
      TestProbe<BackendActor.Transition> router = kit.createTestProbe();
      ActorRef<BackendActor.Command> actor = checking(backend.address(), check, new BackendStats(), router);
      next(router, Health.UP);

      answer.set(new Answer(500, ""));
      long failingSince = System.nanoTime();
      BackendActor.Transition down = next(router, Health.DOWN);
      assertTrue(down.reason().startsWith("3 consecutive HTTP checks failed"), down.reason());
      assertTrue(Duration.ofNanos(System.nanoTime() - failingSince).compareTo(INTERVAL.multipliedBy(2)) >= 0);

      answer.set(new Answer(200, "anything"));
      BackendActor.Transition up = next(router, Health.UP);
      assertTrue(up.reason().startsWith("3 consecutive HTTP checks passed"), up.reason());
      kit.stop(actor);
    }
  }

  @Test
  void timeoutsOnAnUncheckedBackendCountTowardFallInsteadOfDecidingAtOnce() throws Exception {
    // Accepts connections and never answers: every HTTP check times out.
    try (RawTcpServer silent = new RawTcpServer(socket -> socket.getInputStream().transferTo(OutputStream.nullOutputStream()))) {
      HealthCheckSettings check = new HealthCheckSettings(
          HealthCheckSettings.Kind.HTTP, "/health", 200, Optional.empty(), INTERVAL, Duration.ofMillis(150), 1, 3);
      TestProbe<BackendActor.Transition> router = kit.createTestProbe();
      long start = System.nanoTime();
      ActorRef<BackendActor.Command> actor = checking(silent.address(), check, new BackendStats(), router);
      BackendActor.Transition down = next(router, Health.DOWN);
      assertTrue(down.reason().startsWith("3 consecutive HTTP checks failed, last: http check timed out"), down.reason());
      // Three timeouts, two intervals apart at least: the first one alone did not decide.
      assertTrue(Duration.ofNanos(System.nanoTime() - start).compareTo(INTERVAL.multipliedBy(2)) >= 0);
      kit.stop(actor);
    }
  }

  @Test
  void tcpCheckFailsOnRefusedAndPassiveFailuresEject() {
    try (HttpBackend backend = new HttpBackend(kit.system(), request ->
        CompletableFuture.completedFuture(HttpResponse.create()))) {
      HealthCheckSettings check = new HealthCheckSettings(
          HealthCheckSettings.Kind.TCP, "/", 200, Optional.empty(), Duration.ofHours(1), Duration.ofMillis(500), 1, 2);
      TestProbe<BackendActor.Transition> router = kit.createTestProbe();
      BackendStats stats = new BackendStats();
      ActorRef<BackendActor.Command> actor = checking(backend.address(), check, stats, router);
      next(router, Health.UP);

      actor.tell(new BackendActor.PassiveFailure(stats.connectFailed(), "refused"));
      router.expectNoMessage(Duration.ofMillis(200));
      actor.tell(new BackendActor.PassiveFailure(stats.connectFailed(), "refused"));
      BackendActor.Transition down = next(router, Health.DOWN);
      assertTrue(down.reason().contains("2 consecutive connect failures"), down.reason());
      kit.stop(actor);
    }
  }

  @Test
  void aBackendThatSpeaksFirstComesUpAfterItWasRefused() throws Exception {
    int port = dev.fulcrum.testing.TestConfig.freePort();
    HealthCheckSettings check = new HealthCheckSettings(
        HealthCheckSettings.Kind.TCP, "/", 200, Optional.empty(), INTERVAL, Duration.ofMillis(500), 1, 1);
    TestProbe<BackendActor.Transition> router = kit.createTestProbe();
    ActorRef<BackendActor.Command> backend = checking("127.0.0.1:" + port, check, new BackendStats(), router);
    java.util.List<java.net.Socket> greeted = new java.util.concurrent.CopyOnWriteArrayList<>();
    try {
      next(router, Health.DOWN);
      // An SSH, MySQL or SMTP server greets as it accepts: its greeting may be waiting, with the connect's completion,
      // when the check's loop next looks (a selector then reports the connect ready for reading too, as a refusal is).
      try (java.net.ServerSocket server = new java.net.ServerSocket()) {
        server.bind(new java.net.InetSocketAddress("127.0.0.1", port));
        Thread greeter = new Thread(() -> {
          try {
            while (true) {
              java.net.Socket socket = server.accept();
              greeted.add(socket);
              socket.getOutputStream().write("SSH-2.0-fulcrum-test\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            }
          } catch (java.io.IOException closed) {
            // the test is over
          }
        }, "greeting-backend");
        greeter.start();
        next(router, Health.UP);
      }
    } finally {
      kit.stop(backend);
      for (java.net.Socket socket : greeted) socket.close();
    }
  }
}
