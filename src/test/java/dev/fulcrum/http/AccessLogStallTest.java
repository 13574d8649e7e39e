package dev.fulcrum.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.testing.HttpBackend;
import dev.fulcrum.testing.PoolHealth;
import dev.fulcrum.testing.PrometheusText;
import java.io.FileInputStream;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.Test;

/**
 * A disk that stops taking the access log must not stop traffic: the log is a named pipe that nobody reads, so the
 * writer thread blocks once the pipe's buffer is full. Requests keep being answered at once, and the lines that do not
 * fit the queue are dropped and counted.
 */
class AccessLogStallTest {
  @Test
  void aStalledAccessLogDropsLinesAndDoesNotSlowRequests() throws Exception {
    Path dir = Files.createTempDirectory("fulcrum-stall");
    Path fifo = dir.resolve("access.log");
    Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start();
    assertEquals(0, mkfifo.waitFor());
    // opening a pipe blocks until both ends are open: the reader end is opened beside the node's writer and never read
    CompletableFuture<InputStream> reader = CompletableFuture.supplyAsync(() -> {
      try {
        return new FileInputStream(fifo.toFile());
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    ActorSystem<Void> backends = ActorSystem.create(Behaviors.empty(), "backends");
    HttpBackend backend = new HttpBackend(backends, request -> CompletableFuture.completedFuture(
        org.apache.pekko.http.javadsl.model.HttpResponse.create().withEntity("ok")));
    Fulcrum fulcrum = null;
    InputStream pipe = null;
    try {
      fulcrum = Fulcrum.start(ProxyTests.config("nio", """
          fulcrum.access-log { path = "%s", queue-size = 16 }
          fulcrum.pools.web.backends = ["%s"]
          fulcrum.listeners.http.main { bind = "127.0.0.1:0", routes = [{pool = web}] }
          """.formatted(fifo, backend.address())));
      pipe = reader.get(30, TimeUnit.SECONDS);
      PoolHealth.awaitAllUp(fulcrum, "web", 1);
      int port = fulcrum.httpListener("main").localAddress().getPort();
      // about 1.1 KiB a line (a 1000-character path): 300 lines are several times a pipe buffer (64 KiB) plus the queue
      long started = System.nanoTime();
      for (int i = 0; i < 300; i++) {
        RawHttp.Response response = RawHttp.get(port, "x", "/" + i + "/" + "x".repeat(1000));
        assertEquals(200, response.status());
      }
      long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started);
      assertTrue(seconds < 60, "300 requests took " + seconds + " s");
      HttpClient http = HttpClient.newHttpClient();
      String scrape = http.send(HttpRequest.newBuilder(
              URI.create("http://127.0.0.1:" + fulcrum.adminAddress().getPort() + "/metrics")).build(),
          HttpResponse.BodyHandlers.ofString()).body();
      double dropped = PrometheusText.value(PrometheusText.parse(scrape), "fulcrum_access_log_dropped_total");
      assertTrue(dropped > 0, "lines were dropped and counted: " + dropped);
      assertEquals(300, PrometheusText.value(PrometheusText.parse(scrape), "fulcrum_http_requests_total", "code=2xx"));
    } finally {
      // let the blocked writer go, so the node's stop can flush and close the log
      InputStream drain = pipe;
      if (drain != null) {
        Thread drainer = new Thread(() -> {
          try {
            drain.transferTo(java.io.OutputStream.nullOutputStream());
          } catch (Exception ignored) {
            // closed
          }
        });
        drainer.setDaemon(true);
        drainer.start();
      }
      ProxyTests.stop(fulcrum, backends);
      if (drain != null) drain.close();
    }
  }
}
