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
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A pooled backend connection idle past {@code backend-keep-alive-timeout} is closed by the event loop's sweep, which
 * runs only while the loop holds something that times out: the connection released to the pool must bring it back.
 */
class BackendKeepAliveTimeoutTest {
  private static final long KEEP_ALIVE_MS = 300;

  @Test
  void anIdlePooledConnectionIsClosedOnceItsKeepAliveTimeoutEnds() throws Exception {
    CompletableFuture<Long> closedAfter = new CompletableFuture<>();
    try (RawTcpServer backend = new RawTcpServer(socket -> answerThenWaitForTheClose(socket, closedAfter))) {
      Fulcrum fulcrum = Fulcrum.start(ProxyTests.config("nio", """
          fulcrum.event-loops = 1
          fulcrum.pools.kept { backends = ["%s"], health-check.type = tcp }
          fulcrum.http.pools.kept { backend-keep-alive-timeout = %dms }
          fulcrum.listeners.http.main { bind = "127.0.0.1:0", routes = [{pool = kept}] }
          """.formatted(backend.address(), KEEP_ALIVE_MS)));
      try {
        PoolHealth.awaitAllUp(fulcrum, "kept", 1);
        RawHttp.Response response = RawHttp.get(fulcrum.httpListener("main").localAddress().getPort(), "x", "/");
        assertEquals(200, response.status(), response.body());
        long after = closedAfter.get(10, TimeUnit.SECONDS);
        assertTrue(after >= KEEP_ALIVE_MS - 50, "closed " + after + " ms after the response, before the keep-alive timeout");
        assertTrue(after <= KEEP_ALIVE_MS + 2000, "closed " + after + " ms after the response, long after the keep-alive timeout");
      } finally {
        fulcrum.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
      }
    }
  }

  /** Answers each request (keeping the connection); once the proxy closes a connection that had one, how long after. */
  private static void answerThenWaitForTheClose(Socket socket, CompletableFuture<Long> closedAfter) throws java.io.IOException {
    BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.ISO_8859_1));
    long answered = 0;
    String line;
    while ((line = in.readLine()) != null) {
      if (!line.isEmpty()) continue;
      socket.getOutputStream().write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".getBytes(StandardCharsets.ISO_8859_1));
      answered = System.nanoTime();
    }
    // a health check's connection closes without a request
    if (answered != 0) closedAfter.complete(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - answered));
  }
}
