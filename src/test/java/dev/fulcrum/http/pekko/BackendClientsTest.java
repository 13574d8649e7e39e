package dev.fulcrum.http.pekko;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.fulcrum.config.HostPort;
import dev.fulcrum.http.proxy.UpstreamKey;
import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.HttpBackend;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.stream.Materializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

class BackendClientsTest {
  private static final ActorTestKit kit = ActorTestKit.create();
  /** Connections idle for 500 ms are closed: a pool is then dropped after 1 s unused (twice that). */
  private static final UpstreamKey KEY = new UpstreamKey(
      Duration.ofSeconds(2), Duration.ofMillis(500), Duration.ofSeconds(1), 4, 16, Duration.ofSeconds(1),
      dev.fulcrum.config.ProxyProtocolVersion.OFF);

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  private static int status(BackendClients clients, HttpBackend backend) throws Exception {
    HttpResponse response = clients.send(HostPort.parse(backend.address(), false), KEY, HttpRequest.GET("/"))
        .get(10, TimeUnit.SECONDS);
    response.discardEntityBytes(kit.system());
    return response.status().intValue();
  }

  @Test
  void poolsOfBackendsNoLongerUsedAreClosedAndDroppedAndReopenedOnDemand() throws Exception {
    BackendClients clients = new BackendClients(
        kit.system(), Materializer.createMaterializer(kit.system()), Duration.ofMillis(200), Duration.ofMillis(50));
    try (HttpBackend one = new HttpBackend(kit.system(), r -> CompletableFuture.completedFuture(HttpResponse.create()));
        HttpBackend two = new HttpBackend(kit.system(), r -> CompletableFuture.completedFuture(HttpResponse.create()))) {
      assertEquals(200, status(clients, one));
      assertEquals(200, status(clients, two));
      assertEquals(2, clients.openPools());
      Eventually.await(Duration.ofSeconds(10), "idle pools dropped", () -> clients.openPools() == 0);
      assertEquals(200, status(clients, one), "a backend whose pool was dropped is reached through a new one");
      assertEquals(1, clients.openPools());
    } finally {
      clients.close();
    }
    assertEquals(0, clients.openPools());
  }

  @Test
  void aPoolInUseIsKept() throws Exception {
    BackendClients clients = new BackendClients(
        kit.system(), Materializer.createMaterializer(kit.system()), Duration.ofMillis(300), Duration.ofMillis(50));
    try (HttpBackend one = new HttpBackend(kit.system(), r -> CompletableFuture.completedFuture(HttpResponse.create()))) {
      long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
      while (System.nanoTime() < until) {
        assertEquals(200, status(clients, one));
        assertEquals(1, clients.openPools(), "the pool of a backend in use was dropped");
      }
    } finally {
      clients.close();
    }
  }
}
