package dev.fulcrum.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.backend.Health;
import dev.fulcrum.routing.PoolStatus;
import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.PoolHealth;
import java.time.Duration;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;

/** Backends that fail requests are ejected from routing for a while (Envoy's outlier detection), on both engines. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@OnBothEngines
class OutlierDetectionTest {
  @Parameter String engine;

  private ActorSystem<Void> backends;
  private RecordingBackend failing;
  private Fulcrum fulcrum;
  private int port;

  @BeforeParameterizedClassInvocation(injectArguments = false)
  void start() {
    backends = ActorSystem.create(Behaviors.empty(), "backends");
    RecordingBackend good1 = new RecordingBackend(backends, "good-1");
    RecordingBackend good2 = new RecordingBackend(backends, "good-2");
    failing = new RecordingBackend(backends, "failing", OutlierDetectionTest::fiveHundredButHealthy);
    RecordingBackend good3 = new RecordingBackend(backends, "good-3");
    RecordingBackend failingA = new RecordingBackend(backends, "failing-a", OutlierDetectionTest::fiveHundredButHealthy);
    RecordingBackend failingB = new RecordingBackend(backends, "failing-b", OutlierDetectionTest::fiveHundredButHealthy);
    fulcrum = Fulcrum.start(ProxyTests.config(engine,
        """
        fulcrum.pools.three {
          backends = ["%s", "%s", "%s"]
          outlier-detection { consecutive-5xx = 3, base-ejection-time = 1s, max-ejection-time = 10s }
        }
        fulcrum.pools.capped {
          backends = ["%s", "%s", "%s"]
          outlier-detection { consecutive-5xx = 2, max-ejection-percent = 34, base-ejection-time = 1h, max-ejection-time = 1h }
        }
        fulcrum.listeners.http.main {
          bind = "127.0.0.1:0"
          routes = [{path = "/three", pool = three}, {path = "/capped", pool = capped}]
        }
        """.formatted(good1.address(), good2.address(), failing.address(),
            good3.address(), failingA.address(), failingB.address())));
    port = fulcrum.httpListener("main").localAddress().getPort();
    PoolHealth.awaitAllUp(fulcrum, "three", 3);
    PoolHealth.awaitAllUp(fulcrum, "capped", 3);
  }

  @AfterParameterizedClassInvocation(injectArguments = false)
  void stop() throws Exception {
    ProxyTests.stop(fulcrum, backends);
  }

  private static HttpResponse fiveHundredButHealthy(HttpRequest request) {
    if (request.getUri().path().equals("/health")) return HttpResponse.create().withEntity("up");
    return HttpResponse.create().withStatus(500).withEntity("broken");
  }

  @Test
  void aBackendAnswering500IsEjectedAfterTheCountReturnsAfterItsTimeAndIsEjectedLongerNextTime() {
    for (int round = 1; round <= 2; round++) {
      // round robin over three: the failing backend answers every third request until its third 500 in a row
      int errors = 0;
      for (int i = 0; i < 9; i++) {
        if (RawHttp.get(port, "x", "/three").status() == 500) errors++;
      }
      assertEquals(3, errors, "round " + round + ": the counted 500s, and no more");
      Eventually.await(Duration.ofSeconds(5), "the failing backend ejected", () -> health("three", failing) == Health.EJECTED);
      for (int i = 0; i < 20; i++) {
        assertEquals(200, RawHttp.get(port, "x", "/three").status(), "round " + round + ", request " + i + " after the ejection");
      }
      Eventually.await(Duration.ofSeconds(10), "the failing backend back after its ejection",
          () -> health("three", failing) == Health.UP);
    }
  }

  @Test
  void maxEjectionPercentKeepsTheOtherFailingBackendInRouting() {
    int errors = 0;
    for (int i = 0; i < 30; i++) {
      if (RawHttp.get(port, "x", "/capped").status() == 500) errors++;
    }
    PoolStatus status = PoolHealth.status(fulcrum, "capped");
    long ejected = status.backends().stream().filter(b -> b.health() == Health.EJECTED).count();
    assertEquals(1, ejected, "34 % of three backends: one ejected at most: " + status);
    assertTrue(errors > 2, "the failing backend left in routing goes on answering 500: " + errors);
  }

  private Health health(String pool, RecordingBackend backend) {
    return PoolHealth.status(fulcrum, pool).backends().stream()
        .filter(b -> b.address().toString().equals(backend.address()))
        .findFirst().orElseThrow().health();
  }
}
