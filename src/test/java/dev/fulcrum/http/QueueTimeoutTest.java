package dev.fulcrum.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.testing.PoolHealth;
import dev.fulcrum.testing.RawTcpServer;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A request that waits for a connection to a busy backend gets its 503 when the queue timeout ends, not sooner and
 * not much later (HAProxy's {@code timeout queue}), on both engines.
 */
class QueueTimeoutTest {
  private static final long QUEUE_TIMEOUT_MS = 600;

  private ActorSystem<Void> backends;
  private RawTcpServer gated;
  private CountDownLatch gateOpen;
  private CountDownLatch gateReached;
  private Fulcrum fulcrum;
  private int port;

  private void start(String engine) throws Exception {
    gateOpen = new CountDownLatch(1);
    gateReached = new CountDownLatch(1);
    backends = ActorSystem.create(Behaviors.empty(), "backends");
    gated = new RawTcpServer(this::serveWhenTheGateOpens);
    fulcrum = Fulcrum.start(ProxyTests.config(engine, """
        fulcrum.pools.gated { backends = ["%s"], health-check.type = tcp }
        fulcrum.http.pools.gated { max-connections-per-backend = 1, queue-size = 10, queue-timeout = %dms }
        fulcrum.listeners.http.main { bind = "127.0.0.1:0", routes = [{pool = gated}] }
        """.formatted(gated.address(), QUEUE_TIMEOUT_MS)));
    port = fulcrum.httpListener("main").localAddress().getPort();
    PoolHealth.awaitAllUp(fulcrum, "gated", 1);
  }

  private void stop() throws Exception {
    gateOpen.countDown();
    ProxyTests.stop(fulcrum, backends);
    gated.close();
  }

  @ParameterizedTest
  @ValueSource(strings = {"nio", "pekko"})
  void aQueuedRequestGets503WhenTheQueueTimeoutEnds(String engine) throws Exception {
    start(engine);
    try {
      queuedRequestTimesOut();
    } finally {
      stop();
    }
  }

  private void queuedRequestTimesOut() throws Exception {
    CompletableFuture<RawHttp.Response> first = CompletableFuture.supplyAsync(() -> RawHttp.get(port, "x", "/first"));
    assertTrue(gateReached.await(10, TimeUnit.SECONDS), "the first request holds the backend's one connection");
    long start = System.nanoTime();
    RawHttp.Response queued = RawHttp.get(port, "x", "/queued");
    long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    assertEquals(503, queued.status(), queued.body());
    assertTrue(waited >= QUEUE_TIMEOUT_MS - 20, "answered after " + waited + " ms, before the queue timeout");
    assertTrue(waited <= QUEUE_TIMEOUT_MS + 1500, "answered after " + waited + " ms, long after the queue timeout");
    assertTrue(!first.isDone(), "the first request still holds the connection");
    gateOpen.countDown();
    assertEquals(200, first.get(10, TimeUnit.SECONDS).status());
  }

  /** Answers once the test opens the gate. */
  private void serveWhenTheGateOpens(Socket socket) throws java.io.IOException {
    BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.ISO_8859_1));
    String line;
    while ((line = in.readLine()) != null) {
      if (!line.isEmpty()) continue;
      gateReached.countDown();
      try {
        if (!gateOpen.await(30, TimeUnit.SECONDS)) return;
      } catch (InterruptedException e) {
        return;
      }
      socket.getOutputStream().write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".getBytes(StandardCharsets.ISO_8859_1));
    }
  }
}
