package dev.fulcrum.routing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.HttpBackend;
import dev.fulcrum.testing.TestConfig;
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
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
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

  private static ActorTestKit backendKit;
  private static final List<HttpBackend> backends = new ArrayList<>();
  private static volatile boolean lastIsSlow;
  private static Fulcrum fulcrum;

  @BeforeAll
  static void start() {
    backendKit = ActorTestKit.create("backends");
    for (int i = 0; i < 3; i++) {
      boolean last = i == 2;
      backends.add(new HttpBackend(backendKit.system(), request -> {
        request.discardEntityBytes(backendKit.system());
        HttpResponse ok = HttpResponse.create().withEntity("ok");
        return last && lastIsSlow && request.getUri().path().equals("/work")
            ? CompletableFuture.supplyAsync(() -> ok, CompletableFuture.delayedExecutor(SLOW.toMillis(), TimeUnit.MILLISECONDS))
            : CompletableFuture.completedFuture(ok);
      }));
    }
    fulcrum = Fulcrum.start(TestConfig.of("""
        fulcrum.pools.lrt { strategy = least-response-time, backends = ["%s", "%s", "%s"] }
        """.formatted(backends.get(0).address(), backends.get(1).address(), backends.get(2).address())));
  }

  @AfterAll
  static void stop() throws Exception {
    if (fulcrum != null) fulcrum.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
    backends.forEach(HttpBackend::close);
    backendKit.shutdownTestKit();
  }

  private record Sent(long atNanos, String backend) {}

  @Test
  void trafficLeavesABackendThatTurnsSlowWithinASecond() throws Exception {
    TableRef table = fulcrum.tables().of("lrt");
    Eventually.await(Duration.ofSeconds(10), "3 backends routed", () -> table.current().size() == 3);
    String slow = backends.get(2).address();
    HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    ConcurrentLinkedQueue<Sent> sent = new ConcurrentLinkedQueue<>();
    long start = System.nanoTime();
    long turnsSlow = start + Duration.ofSeconds(1).toNanos();
    long end = turnsSlow + Duration.ofSeconds(2).toNanos();
    List<Thread> clients = new ArrayList<>();
    ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
    for (int c = 0; c < CLIENTS; c++) {
      Thread thread = new Thread(() -> {
        try {
          while (System.nanoTime() < end) {
            if (!lastIsSlow && System.nanoTime() >= turnsSlow) lastIsSlow = true;
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
    for (Thread thread : clients) thread.join(Duration.ofSeconds(20).toMillis());
    assertTrue(failures.isEmpty(), "client failures: " + failures);

    double before = shareOf(slow, sent, start + Duration.ofMillis(200).toNanos(), turnsSlow);
    double afterASecond = shareOf(slow, sent, turnsSlow + Duration.ofSeconds(1).toNanos(), end);
    assertTrue(before > 0.15, "while fast it gets its share: " + before);
    assertTrue(afterASecond < 0.03, "a second after turning slow it gets almost nothing: " + afterASecond);
    long latency = table.current().get(2).stats().latencyEstimateNanos();
    assertTrue(latency > SLOW.toNanos() / 2, "its latency estimate is high: " + latency);
  }

  private static double shareOf(String backend, ConcurrentLinkedQueue<Sent> sent, long from, long to) {
    long all = sent.stream().filter(s -> s.atNanos() >= from && s.atNanos() < to).count();
    long matching = sent.stream().filter(s -> s.atNanos() >= from && s.atNanos() < to && s.backend().equals(backend)).count();
    assertTrue(all > 50, "enough requests in the window: " + all);
    return (double) matching / all;
  }
}
