package dev.fulcrum.http;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.testing.PoolHealth;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Where the Pekko engine answers differently from the nio engine ({@link NioEngineTest}): Pekko HTTP's parser and URI
 * model decide, and both answers keep the request from reaching what the firewall denies.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PekkoEngineTest {
  private ActorSystem<Void> backends;
  private RecordingBackend web;
  private Fulcrum fulcrum;
  private int port;

  @BeforeAll
  void start() {
    backends = ActorSystem.create(Behaviors.empty(), "backends");
    web = new RecordingBackend(backends, "web");
    fulcrum = Fulcrum.start(ProxyTests.config("pekko",
        """
        fulcrum.pools.web.backends = ["%s"]
        fulcrum.listeners.http.main {
          bind = "127.0.0.1:0"
          routes = [{pool = web}]
          firewall.deny-paths = ["/admin/*"]
        }
        """.formatted(web.address())));
    port = fulcrum.httpListener("main").localAddress().getPort();
    PoolHealth.awaitAllUp(fulcrum, "web", 1);
  }

  @AfterAll
  void stop() throws Exception {
    ProxyTests.stop(fulcrum, backends);
  }

  @BeforeEach
  void clear() {
    web.clear();
  }

  @Test
  void requestLineWithTwoSpacesReadsAsAnUnsupportedVersion() {
    // Pekko takes an empty target and "/ HTTP/1.1" for the version
    RawHttp.assertRefused(port, 505, "GET  / HTTP/1.1\r\nHost: x\r\n\r\n");
    assertEquals(0, web.pending());
  }

  @Test
  void obsFoldedHeaderIsUnfoldedBeforeForwarding() {
    RawHttp.Response response =
        RawHttp.exchange(port, "GET / HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\nConnection: close\r\n\r\n");
    assertEquals(200, response.status());
    assertEquals("a b", web.next().header("X-Folded"), "RFC 9112 5.2: reject, or replace the fold with a space");
  }

}
