package dev.fulcrum.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.testing.HangingBackend;
import dev.fulcrum.testing.PoolHealth;
import java.time.Duration;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;

/** A backend whose connects hang: the connect timeout cuts them, and the next backend is tried. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@OnBothEngines
class HttpConnectTimeoutTest {
  @Parameter String engine;

  private static final Duration CONNECT_TIMEOUT = Duration.ofMillis(500);
  /** Scheduling on a loaded 2-core machine, and the client pool's backoff after a failed connect (up to 1 s). */
  private static final Duration MARGIN = Duration.ofMillis(2500);

  private ActorSystem<Void> backends;
  private RecordingBackend live;
  private HangingBackend hanging;
  private Fulcrum fulcrum;
  private int port;

  @BeforeParameterizedClassInvocation(injectArguments = false)
  void start() {
    backends = ActorSystem.create(Behaviors.empty(), "backends");
    live = new RecordingBackend(backends, "live");
    hanging = new HangingBackend();
    // one TCP check that passes (the kernel completes it into the accept queue), then none: the hanging backend stays
    // in the tables, as a backend whose connects start to hang would until its checks fail
    String quiet = "health-check { type = tcp, interval = 1h, fall = 100 }";
    fulcrum = Fulcrum.start(ProxyTests.config(engine,
        """
        fulcrum.pools {
          hanging-only { backends = ["%s"], %s }
          hanging-then-live { backends = ["%s", "%s"], %s }
        }
        fulcrum.listeners.http.main {
          bind = "127.0.0.1:0"
          connect-timeout = %dms
          routes = [
            {path = "/hanging-only", pool = hanging-only}
            {path = "/hanging-then-live", pool = hanging-then-live}
          ]
        }
        """.formatted(hanging.address(), quiet, hanging.address(), live.address(), quiet, CONNECT_TIMEOUT.toMillis())));
    port = fulcrum.httpListener("main").localAddress().getPort();
    PoolHealth.awaitAllUp(fulcrum, "hanging-only", 1);
    PoolHealth.awaitAllUp(fulcrum, "hanging-then-live", 2);
    hanging.fill();
  }

  @AfterParameterizedClassInvocation(injectArguments = false)
  void stop() throws Exception {
    ProxyTests.stop(fulcrum, backends);
    hanging.close();
  }

  @Test
  void connectThatHangsGives504AtTheConnectTimeout() {
    long start = System.nanoTime();
    RawHttp.Response response = RawHttp.get(port, "x", "/hanging-only");
    Duration took = Duration.ofNanos(System.nanoTime() - start);
    assertEquals(504, response.status(), response.body());
    assertTrue(response.body().contains("connect to the backend timed out after 500 ms"), response.body());
    assertTrue(took.compareTo(CONNECT_TIMEOUT.minusMillis(50)) >= 0, "not before the connect timeout: " + took);
    assertTrue(took.compareTo(CONNECT_TIMEOUT.plus(MARGIN)) < 0, "at the connect timeout: " + took);
  }

  @Test
  void connectThatHangsIsRetriedOnTheNextBackend() {
    // round robin: of two requests one goes to the hanging backend first, waits out its connect, then goes to live
    Duration slowest = Duration.ZERO;
    for (int i = 0; i < 2; i++) {
      long start = System.nanoTime();
      RawHttp.Response response = RawHttp.get(port, "x", "/hanging-then-live/" + i);
      Duration took = Duration.ofNanos(System.nanoTime() - start);
      assertEquals(200, response.status(), "request " + i + ": " + response.body());
      assertEquals("live", response.body());
      assertEquals("/hanging-then-live/" + i, live.next().target());
      assertTrue(took.compareTo(CONNECT_TIMEOUT.plus(MARGIN)) < 0, "request " + i + " took " + took);
      if (took.compareTo(slowest) > 0) slowest = took;
    }
    assertTrue(slowest.compareTo(CONNECT_TIMEOUT.minusMillis(50)) >= 0,
        "one request waited for the hanging backend's connect timeout first: slowest took " + slowest);
    assertEquals(0, live.pending(), "each request reached the live backend once");
  }
}
