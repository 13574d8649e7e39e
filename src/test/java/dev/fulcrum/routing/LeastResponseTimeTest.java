package dev.fulcrum.routing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.PoolHealth;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse.BodyHandlers;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Least response time against real HTTP backends, driven as the L7 data plane drives it: pick from the pool's current
 * table, report the request started, send it, report it finished with its latency. When one backend starts answering
 * slowly, traffic must leave it within a second.
 */
class LeastResponseTimeTest {
  private static final Duration SLOW = Duration.ofMillis(300);
  private static final int CLIENTS = 4;

  private static RoutingFixture live;
  private static volatile boolean lastIsSlow;
  private static Fulcrum fulcrum;

  @BeforeAll
  static void start() {
    live = new RoutingFixture();
    for (int i = 0; i < 3; i++) {
      boolean last = i == 2;
      live.addBackend(request -> {
        request.discardEntityBytes(live.backendSystem());
        HttpResponse ok = HttpResponse.create().withEntity("ok");
        return last && lastIsSlow && request.getUri().path().equals("/work")
            ? CompletableFuture.supplyAsync(() -> ok, CompletableFuture.delayedExecutor(SLOW.toMillis(), TimeUnit.MILLISECONDS))
            : CompletableFuture.completedFuture(ok);
      });
    }
    fulcrum = live.start("""
        fulcrum.health-check.timeout = 3s
        fulcrum.pools.lrt { strategy = least-response-time, backends = [%s] }
        """.formatted(live.addresses()));
  }

  @AfterAll
  static void stop() throws Exception {
    live.close();
  }

  private record Sent(long atNanos, String backend) {}

  @Test
  void trafficLeavesABackendThatTurnsSlowWithinASecond() throws Exception {
    PoolHealth.awaitAllUp(fulcrum, "lrt", 3);
    TableRef table = fulcrum.tables().of("lrt");
    String slow = live.backends.get(2).address();
    HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    ConcurrentLinkedQueue<Sent> sent = new ConcurrentLinkedQueue<>();
    ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
    AtomicBoolean running = new AtomicBoolean(true);
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    List<Thread> clients = new ArrayList<>();
    for (int c = 0; c < CLIENTS; c++) {
      Thread thread = new Thread(() -> {
        try {
          while (running.get() && System.nanoTime() < deadline) {
            RoutingTable current = table.current();
            RoutedBackend backend = current.get(current.pick(0));
            sent.add(new Sent(System.nanoTime(), backend.address().toString()));
            backend.stats().requestStarted();
            long t0 = System.nanoTime();
            var response = client.send(
                HttpRequest.newBuilder(URI.create("http://" + backend.address() + "/work")).build(),
                BodyHandlers.ofString());
            backend.stats().requestFinished(System.nanoTime() - t0);
            assertEquals(200, response.statusCode());
          }
        } catch (Throwable e) {
          failures.add(e);
        }
      });
      thread.start();
      clients.add(thread);
    }
    try {
      // While all are fast, until every client is warm; then the last backend turns slow.
      Eventually.await(Duration.ofSeconds(15), "200 requests while all are fast", () -> sent.size() >= 200);
      long turnedSlow = System.nanoTime();
      lastIsSlow = true;
      long aSecondLater = turnedSlow + Duration.ofSeconds(1).toNanos();
      Eventually.await(Duration.ofSeconds(15), "100 requests from a second after it turned slow",
          () -> sent.stream().filter(s -> s.atNanos() >= aSecondLater).count() >= 100);
      running.set(false);
      for (Thread thread : clients) thread.join(Duration.ofSeconds(10).toMillis());
      assertTrue(failures.isEmpty(), "client failures: " + failures);

      List<Sent> fast = sent.stream().filter(s -> s.atNanos() < turnedSlow).toList();
      double before = shareOf(slow, fast.subList(fast.size() / 2, fast.size()));
      double after = shareOf(slow, sent.stream().filter(s -> s.atNanos() >= aSecondLater).toList());
      assertTrue(before > 0.15, "while fast it gets its share: " + before);
      assertTrue(after < 0.03, "a second after turning slow it gets almost nothing: " + after);
      long latency = table.current().get(2).stats().latencyEstimateNanos();
      assertTrue(latency > SLOW.toNanos() / 2, "its latency estimate is high: " + latency);
    } finally {
      running.set(false);
    }
  }

  private static double shareOf(String backend, List<Sent> sent) {
    return sent.stream().filter(s -> s.backend().equals(backend)).count() / (double) sent.size();
  }
}
