package dev.fulcrum.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.HttpBackend;
import dev.fulcrum.testing.PoolHealth;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;

/** What a client gets when backends are missing, refuse, reset, answer garbage or answer too late; and what is retried. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@OnBothEngines
class HttpFailureTest {
  @Parameter String engine;

  private ActorSystem<Void> backends;
  private RecordingBackend live;
  private RecordingBackend stopped;
  private RecordingBackend alone;
  private RecordingBackend ejected;
  private HttpBackend slow;
  private RawBackend reset;
  private RawBackend dying;
  private RawBackend garbage;
  private Fulcrum fulcrum;
  private int port;

  @BeforeParameterizedClassInvocation(injectArguments = false)
  void start() throws Exception {
    backends = ActorSystem.create(Behaviors.empty(), "backends");
    live = new RecordingBackend(backends, "live");
    stopped = new RecordingBackend(backends, "stopped");
    alone = new RecordingBackend(backends, "alone");
    ejected = new RecordingBackend(backends, "ejected");
    slow = new HttpBackend(backends, request -> {
      if (request.getUri().path().equals("/health")) {
        return CompletableFuture.completedFuture(HttpResponse.create().withEntity("up"));
      }
      CompletableFuture<HttpResponse> late = new CompletableFuture<>();
      backends.scheduler().scheduleOnce(Duration.ofSeconds(2), () -> late.complete(HttpResponse.create().withEntity("late")),
          backends.executionContext());
      return (CompletionStage<HttpResponse>) late;
    });
    reset = new RawBackend(RawBackend.Behaviour.RESET);
    dying = new RawBackend(RawBackend.Behaviour.RESET);
    garbage = new RawBackend(RawBackend.Behaviour.GARBAGE);
    // health checks that pass once and then never run again: the tables keep backends that later fail
    String quiet = "health-check { interval = 1h, fall = 100 }";
    fulcrum = Fulcrum.start(ProxyTests.config(engine,
        """
        fulcrum.pools {
          empty.backends = []
          refusing { backends = ["%s", "%s"], %s }
          refused-only { backends = ["%s"], %s }
          resetting { backends = ["%s", "%s"], %s }
          garbage { backends = ["%s"], %s }
          slow { backends = ["%s"], %s }
          ejecting { backends = ["%s", "%s"], health-check { interval = 1h, fall = 2 } }
          warm { backends = ["%s"], %s }
          dying { backends = ["%s", "%s"], %s, outlier-detection.consecutive-gateway-errors = 0,
            outlier-detection.consecutive-local-origin-failures = 0 }
        }
        fulcrum.listeners.http.budgeted {
          bind = "127.0.0.1:0"
          retry-budget { ratio = 0.5, burst = 1 }
          routes = [{path = "/warm", pool = warm}, {path = "/dying", pool = dying}]
        }
        fulcrum.listeners.http.main {
          bind = "127.0.0.1:0"
          routes = [
            {path = "/empty", pool = empty}
            {path = "/refusing", pool = refusing}
            {path = "/refused-only", pool = refused-only}
            {path = "/resetting", pool = resetting}
            {path = "/garbage", pool = garbage}
            {path = "/slow", pool = slow, response-timeout = 300ms}
            {path = "/ejecting", pool = ejecting}
          ]
        }
        """.formatted(
            stopped.address(), live.address(), quiet,
            alone.address(), quiet,
            reset.address(), live.address(), quiet,
            garbage.address(), quiet,
            slow.address(), quiet,
            ejected.address(), live.address(),
            live.address(), quiet,
            dying.address(), live.address(), quiet)));
    port = fulcrum.httpListener("main").localAddress().getPort();
    PoolHealth.awaitAllUp(fulcrum, "refusing", 2);
    PoolHealth.awaitAllUp(fulcrum, "refused-only", 1);
    PoolHealth.awaitAllUp(fulcrum, "resetting", 2);
    PoolHealth.awaitAllUp(fulcrum, "garbage", 1);
    PoolHealth.awaitAllUp(fulcrum, "slow", 1);
    PoolHealth.awaitAllUp(fulcrum, "ejecting", 2);
    PoolHealth.awaitAllUp(fulcrum, "dying", 2);
    ejected.server().stop();
    stopped.server().stop();
    alone.server().stop();
  }

  @AfterParameterizedClassInvocation(injectArguments = false)
  void stop() throws Exception {
    ProxyTests.stop(fulcrum, backends);
    reset.close();
    dying.close();
    garbage.close();
  }

  @BeforeEach
  void clear() {
    live.clear();
  }

  @Test
  void noEligibleBackendGives503() {
    assertAnswered("/empty", 503, "no healthy backend in pool 'empty'");
  }

  @Test
  void getIsRetriedOnTheNextBackendAfterARefusedConnect() {
    for (int i = 0; i < 4; i++) {
      RawHttp.Response response = RawHttp.get(port, "x", "/refusing/" + i);
      assertEquals(200, response.status(), "request " + i + ": " + response.body());
      assertEquals("live", response.body());
      assertEquals("/refusing/" + i, live.next().target());
    }
  }

  @Test
  void postIsRetriedAfterARefusedConnectBecauseNothingWasSent() {
    for (int i = 0; i < 4; i++) {
      RawHttp.Response response = post(port, "/refusing/p" + i, "body-" + i);
      assertEquals(200, response.status(), "request " + i + ": " + response.body());
      RecordingBackend.Received r = live.next();
      assertEquals("POST", r.method());
      assertEquals("body-" + i, r.body());
    }
  }

  @Test
  void refusedConnectsTakeTheBackendOutOfTheTable() {
    for (int i = 0; i < 4; i++) {
      assertEquals(200, RawHttp.get(port, "x", "/ejecting").status());
      live.next();
    }
    Eventually.await(Duration.ofSeconds(10), "the refusing backend ejected after 2 connect failures",
        () -> fulcrum.tables().of("ejecting").current().size() == 1);
    assertEquals(live.address(), fulcrum.tables().of("ejecting").current().get(0).address().toString());
  }

  @Test
  void refusedByEveryBackendGives502() {
    assertAnswered("/refused-only", 502, "could not connect");
  }

  @Test
  void postThatReachedAResettingBackendIsNotRetried() {
    int resetsBefore = reset.requests();
    int ok = 0;
    int failed = 0;
    for (int i = 0; i < 6; i++) {
      RawHttp.Response response = post(port, "/resetting/p", "once");
      if (response.status() == 200) ok++;
      else {
        assertEquals(502, response.status());
        assertTrue(response.body().contains("closed the connection"), response.body());
        failed++;
      }
    }
    assertTrue(failed > 0, "round robin sends some POSTs to the resetting backend");
    assertEquals(failed, reset.requests() - resetsBefore, "each failed POST reached the resetting backend once");
    for (int i = 0; i < ok; i++) assertEquals("POST", live.next().method());
    assertEquals(0, live.pending(), "no failed POST was sent again to the live backend");
  }

  @Test
  void getThatReachedAResettingBackendIsRetried() {
    int resetsBefore = reset.requests();
    for (int i = 0; i < 6; i++) {
      assertEquals(200, RawHttp.get(port, "x", "/resetting/g").status());
      live.next();
    }
    assertTrue(reset.requests() > resetsBefore, "some GETs went to the resetting backend first");
  }

  @Test
  void aBurstOfResetsIsRetriedWithinWhatTheTrafficEarned() throws Exception {
    // a backend that dies under load resets all its requests in flight at once, more than the budget's burst (1 here):
    // the last second's traffic raises the cap (ratio 0.5 of it), so they are all retried, as nginx would. The ratio is
    // high so that the little traffic a loaded machine lets four blocking clients send earns enough (about 8 resets)
    int budgeted = fulcrum.httpListener("budgeted").localAddress().getPort();
    java.util.concurrent.ExecutorService clients = java.util.concurrent.Executors.newFixedThreadPool(16);
    try {
      // steady traffic for more than two of the budget's periods (2^30 ns): one to count, one to deposit
      long until = System.nanoTime() + Duration.ofMillis(2600).toNanos();
      java.util.List<java.util.concurrent.Future<Integer>> warm = new java.util.ArrayList<>();
      for (int t = 0; t < 4; t++) {
        warm.add(clients.submit(() -> {
          int sent = 0;
          while (System.nanoTime() < until) {
            assertEquals(200, RawHttp.get(budgeted, "x", "/warm").status());
            sent++;
          }
          return sent;
        }));
      }
      int sent = 0;
      for (var f : warm) sent += f.get(30, java.util.concurrent.TimeUnit.SECONDS);
      assertTrue(sent >= 80, "enough traffic to earn the retries: " + sent + " requests");
      int resetsBefore = dying.requests();
      java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
      java.util.List<java.util.concurrent.Future<RawHttp.Response>> burst = new java.util.ArrayList<>();
      for (int i = 0; i < 16; i++) {
        String target = "/dying/" + i;
        burst.add(clients.submit(() -> {
          go.await();
          return RawHttp.get(budgeted, "x", target);
        }));
      }
      go.countDown();
      for (var f : burst) {
        RawHttp.Response response = f.get(30, java.util.concurrent.TimeUnit.SECONDS);
        assertEquals(200, response.status(), response.body());
      }
      int resets = dying.requests() - resetsBefore;
      assertTrue(resets >= 4, "round robin sent about half of the burst to the resetting backend first: " + resets);
    } finally {
      clients.shutdownNow();
    }
  }

  @Test
  void invalidResponseGives502() {
    assertAnswered("/garbage", 502, "invalid response");
  }

  @Test
  void slowBackendGives504() {
    long start = System.nanoTime();
    assertAnswered("/slow", 504, "did not answer within 300 ms");
    assertTrue(System.nanoTime() - start < Duration.ofMillis(1500).toNanos(), "answered at the timeout, not the backend's 2 s");
  }

  /** A GET of {@code target} gets {@code status} with a body that says why. */
  private void assertAnswered(String target, int status, String why) {
    RawHttp.Response response = RawHttp.get(port, "x", target);
    assertEquals(status, response.status(), response.body());
    assertTrue(response.body().contains(why), response.body());
  }

  private static RawHttp.Response post(int port, String target, String body) {
    return RawHttp.exchange(port, "POST " + target + " HTTP/1.1\r\nHost: x\r\nContent-Length: " + body.length()
        + "\r\nConnection: close\r\n\r\n" + body);
  }
}
