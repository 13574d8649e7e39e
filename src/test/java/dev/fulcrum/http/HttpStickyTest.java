package dev.fulcrum.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.PoolHealth;
import java.time.Duration;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;

/** Sticky sessions: the cookie keeps a client on its backend while it is eligible, and is replaced when it is not. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@OnBothEngines
class HttpStickyTest {
  @Parameter String engine;

  private ActorSystem<Void> backends;
  private RecordingBackend one;
  private RecordingBackend two;
  private RecordingBackend three;
  private Fulcrum fulcrum;
  private int port;

  @BeforeParameterizedClassInvocation(injectArguments = false)
  void start() {
    backends = ActorSystem.create(Behaviors.empty(), "backends");
    one = new RecordingBackend(backends, "one");
    two = new RecordingBackend(backends, "two");
    three = new RecordingBackend(backends, "three");
    fulcrum = Fulcrum.start(ProxyTests.config(engine,
        """
        fulcrum.pools.web {
          backends = ["%s", "%s", "%s"]
          health-check { interval = 300ms, timeout = 5s, rise = 1, fall = 1 }
        }
        fulcrum.http.pools.web.sticky { enabled = on, cookie = "SRV" }
        fulcrum.listeners.http.main { bind = "127.0.0.1:0", routes = [{pool = web}] }
        """.formatted(one.address(), two.address(), three.address())));
    port = fulcrum.httpListener("main").localAddress().getPort();
    PoolHealth.awaitAllUp(fulcrum, "web", 3);
  }

  @AfterParameterizedClassInvocation(injectArguments = false)
  void stop() throws Exception {
    ProxyTests.stop(fulcrum, backends);
  }

  @Test
  void cookieKeepsTheClientOnItsBackendAndIsReplacedWhenThatBackendGoesDown() {
    RawHttp.Response first = RawHttp.get(port, "x", "/");
    String setCookie = first.header("Set-Cookie");
    assertNotNull(setCookie, "a client without the cookie gets one: " + first);
    assertTrue(setCookie.startsWith("SRV="), setCookie);
    String cookie = setCookie.split(";")[0];
    String backend = first.body();
    for (int i = 0; i < 5; i++) {
      RawHttp.Response again = RawHttp.get(port, "x", "/", "Cookie: other=1; " + cookie);
      assertEquals(backend, again.body(), "round robin would have moved the client; the cookie keeps it");
      assertNull(again.header("Set-Cookie"), "a valid cookie is not set again");
    }

    RecordingBackend chosen = backend.equals("one") ? one : backend.equals("two") ? two : three;
    chosen.server().stop();
    try {
      Eventually.await(Duration.ofSeconds(10), backend + " out of the table", () -> fulcrum.tables().of("web").current().size() == 2);
      RawHttp.Response moved = RawHttp.get(port, "x", "/", "Cookie: " + cookie);
      assertEquals(200, moved.status());
      assertNotEquals(backend, moved.body());
      String replaced = moved.header("Set-Cookie");
      assertNotNull(replaced, "the cookie naming a backend that is down is replaced");
      assertNotEquals(cookie, replaced.split(";")[0]);
      assertEquals(moved.body(), RawHttp.get(port, "x", "/", "Cookie: " + replaced.split(";")[0]).body());
    } finally {
      chosen.server().start();
    }
  }
}
