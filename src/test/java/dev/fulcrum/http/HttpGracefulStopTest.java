package dev.fulcrum.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.HttpBackend;
import dev.fulcrum.testing.PoolHealth;
import java.io.IOException;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.Parameter;

/** Stopping a node: the listener stops accepting, the request in flight still gets its response. */
@OnBothEngines
class HttpGracefulStopTest {
  @Parameter String engine;

  @Test
  void inFlightRequestCompletesWhileNewConnectionsAreRefused() throws Exception {
    ActorSystem<Void> backends = ActorSystem.create(Behaviors.empty(), "backends");
    CountDownLatch arrived = new CountDownLatch(1);
    CompletableFuture<HttpResponse> release = new CompletableFuture<>();
    HttpBackend backend = new HttpBackend(backends, request -> {
      if (!request.getUri().path().equals("/slow")) return CompletableFuture.completedFuture(HttpResponse.create().withEntity("up"));
      arrived.countDown();
      return (CompletionStage<HttpResponse>) release;
    });
    Fulcrum fulcrum = null;
    try {
      fulcrum = Fulcrum.start(ProxyTests.config(engine, """
          fulcrum.pools.web.backends = ["%s"]
          fulcrum.listeners.http.main { bind = "127.0.0.1:0", routes = [{pool = web}] }
          """.formatted(backend.address())));
      int port = fulcrum.httpListener("main").localAddress().getPort();
      PoolHealth.awaitAllUp(fulcrum, "web", 1);
      CompletableFuture<RawHttp.Response> inFlight =
          CompletableFuture.supplyAsync(() -> RawHttp.get(port, "x", "/slow"));
      assertTrue(arrived.await(10, TimeUnit.SECONDS));

      CompletionStage<?> stopped = fulcrum.stop();
      Eventually.await(Duration.ofSeconds(10), "listener unbound", () -> refuses(port));
      release.complete(HttpResponse.create().withEntity("finished"));
      RawHttp.Response response = inFlight.get(10, TimeUnit.SECONDS);
      assertEquals(200, response.status());
      assertEquals("finished", response.body());
      stopped.toCompletableFuture().get(20, TimeUnit.SECONDS);
      assertThrows(IOException.class, () -> new Socket("127.0.0.1", port).close());
    } finally {
      ProxyTests.stop(fulcrum, backends);
    }
  }

  private static boolean refuses(int port) {
    try (Socket s = new Socket("127.0.0.1", port)) {
      return false;
    } catch (IOException e) {
      return true;
    }
  }
}
