package dev.fulcrum.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.config.HttpRouteSettings.WeightedPool;
import dev.fulcrum.routes.RouteEvent;
import dev.fulcrum.routes.RouteTableEntity;
import dev.fulcrum.testing.AdminClient;
import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.HttpBackend;
import dev.fulcrum.testing.NamedBackend;
import dev.fulcrum.testing.PoolHealth;
import dev.fulcrum.testing.RawHttp;
import dev.fulcrum.testing.TestConfig;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The README's canary program on a real node, real backends and a real listener: the happy path measured at each step,
 * and a green backend killed mid-canary, which rolls the route back to blue, as the route's history tells.
 */
class CanaryTest {
  private static final int REQUESTS = 1000;

  private ActorSystem<Void> backends;
  private HttpBackend green1;
  private Fulcrum fulcrum;
  // the measuring client blocks: on a thread of the test's, never on the node's dispatchers that complete the steps
  private final ExecutorService client = Executors.newSingleThreadExecutor();

  @BeforeEach
  void start() {
    backends = ActorSystem.create(Behaviors.empty(), "canary-backends");
    HttpBackend blue1 = NamedBackend.start(backends, "blue-1");
    HttpBackend blue2 = NamedBackend.start(backends, "blue-2");
    green1 = NamedBackend.start(backends, "green-1");
    HttpBackend green2 = NamedBackend.start(backends, "green-2");
    fulcrum = Fulcrum.start(TestConfig.of("""
        fulcrum.health-check { interval = 200ms, timeout = 1s, rise = 1, fall = 1 }
        fulcrum.pools.blue.backends = ["%s", "%s"]
        fulcrum.pools.green.backends = ["%s", "%s"]
        fulcrum.listeners.http.web {
          bind = "127.0.0.1:0"
          routes = [{name = main, pool = blue}]
        }
        """.formatted(blue1.address(), blue2.address(), green1.address(), green2.address())));
    PoolHealth.awaitAllUp(fulcrum, "blue", 2);
    PoolHealth.awaitAllUp(fulcrum, "green", 2);
  }

  @AfterEach
  void stop() throws Exception {
    client.shutdownNow();
    if (fulcrum != null) fulcrum.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
    backends.terminate();
  }

  /** {@code REQUESTS} requests through the listener over one keep-alive connection: how many each backend answered. */
  private Map<String, Integer> traffic() {
    Map<String, Integer> counts = new TreeMap<>();
    try (RawHttp http = new RawHttp(fulcrum.httpListener("web").localAddress())) {
      for (int i = 0; i < REQUESTS; i++) counts.merge(http.get("/"), 1, Integer::sum);
    }
    return counts;
  }

  private static int pool(Map<String, Integer> counts, String pool) {
    return counts.entrySet().stream().filter(e -> e.getKey().startsWith(pool + "-")).mapToInt(Map.Entry::getValue).sum();
  }

  @Test
  void theHappyPathEndsOnGreenWithTrafficFollowingEachStep() throws Exception {
    Map<Integer, Map<String, Integer>> measured = new ConcurrentHashMap<>();
    Canary.Result result = Canary.run(fulcrum, "deploy-7", "web", "main", "blue", "green", Duration.ofMillis(200),
            percent -> CompletableFuture.runAsync(() -> measured.put(percent, traffic()), client))
        .toCompletableFuture().get(60, TimeUnit.SECONDS);

    assertEquals(new Canary.Result(Canary.Outcome.PROMOTED, "main is on green"), result);
    assertEquals(List.of(10, 50, 100), measured.keySet().stream().sorted().toList());
    for (var step : measured.entrySet()) {
      Map<String, Integer> counts = step.getValue();
      assertEquals(REQUESTS, pool(counts, "blue") + pool(counts, "green"), counts.toString());
      // 1000 draws at p = 0.5: the standard deviation is 0.016; 0.06 is almost four of them (0 at 100 %)
      assertEquals(step.getKey() / 100.0, pool(counts, "green") / (double) REQUESTS, 0.06, step.getKey() + " %: " + counts);
      // each pool's round robin reaches both of its backends
      if (step.getKey() >= 50) assertEquals(2, counts.keySet().stream().filter(b -> b.startsWith("green-")).count(), counts.toString());
    }
    assertEquals(REQUESTS, pool(measured.get(100), "green"), measured.get(100).toString());
    assertEquals(List.of(new WeightedPool("green", 100)), fulcrum.routeTable("web").orElseThrow().route("main").orElseThrow().pools());
  }

  @Test
  void aGreenBackendDownMidCanaryRollsTheRouteBackToBlue() throws Exception {
    CompletableFuture<Void> atTen = new CompletableFuture<>();
    // a long pause: the test kills a green backend while the canary waits at 10 %
    var running = Canary.run(fulcrum, "deploy-8", "web", "main", "blue", "green", Duration.ofSeconds(60), percent -> {
      if (percent == 10) atTen.complete(null);
      return CompletableFuture.completedFuture(null);
    }).toCompletableFuture();
    atTen.get(30, TimeUnit.SECONDS);
    Map<String, Integer> atTenTraffic = CompletableFuture.supplyAsync(this::traffic, client).get(60, TimeUnit.SECONDS);
    assertEquals(0.10, pool(atTenTraffic, "green") / (double) REQUESTS, 0.04, atTenTraffic.toString());

    green1.stop();
    Canary.Result result = running.get(30, TimeUnit.SECONDS);

    assertEquals(Canary.Outcome.ROLLED_BACK, result.outcome(), result.toString());
    assertTrue(result.reason().startsWith("green backend " + green1.address() + " went down: "), result.reason());
    Eventually.await(Duration.ofSeconds(5), "the node routing main to blue alone", () -> fulcrum.routeTable("web")
        .flatMap(t -> t.route("main")).map(r -> r.pools().equals(List.of(new WeightedPool("blue", 100)))).orElse(false));
    Map<String, Integer> after = CompletableFuture.supplyAsync(this::traffic, client).get(60, TimeUnit.SECONDS);
    assertEquals(REQUESTS, pool(after, "blue"), after.toString());

    // the history: the config's table, the 10 % step and the rollback, each with the run's origin and key
    var history = assertInstanceOf(RouteTableEntity.History.class,
        fulcrum.routeHistory("web", 0).toCompletableFuture().get(10, TimeUnit.SECONDS)).events();
    assertEquals(3, history.size(), history.toString());
    assertEquals("config", history.get(0).event().origin());
    var step = assertInstanceOf(RouteEvent.PoolsChanged.class, history.get(1).event());
    assertEquals(List.of(new WeightedPool("blue", 90), new WeightedPool("green", 10)), step.pools());
    assertEquals(List.of("main", "deploy-8"), List.of(step.name(), step.origin()));
    assertTrue(step.idempotencyKey().matches("canary-[0-9a-f]{8}-10"), step.idempotencyKey());
    var rollback = assertInstanceOf(RouteEvent.PoolsChanged.class, history.get(2).event());
    assertEquals(List.of(new WeightedPool("blue", 100)), rollback.pools());
    assertEquals(List.of("main", "deploy-8"), List.of(rollback.name(), rollback.origin()));
    assertEquals(step.idempotencyKey().replace("-10", "-rollback"), rollback.idempotencyKey());
    // the same over the admin API
    AdminClient.Response json = new AdminClient(fulcrum.adminAddress(), Optional.empty()).get("/api/routes/web/events");
    assertEquals(200, json.status(), json.toString());
    List<String> rows = new java.util.ArrayList<>();
    json.json().forEach(e -> rows.add(e.get("type").asText() + " " + e.get("origin").asText()));
    assertEquals(List.of("routes-set config", "pools-changed deploy-8", "pools-changed deploy-8"), rows, json.body());
  }

  @Test
  void aRejectedStepEndsTheCanaryOnBlueWithTheReason() throws Exception {
    // a pool no node has: the first step is refused, nothing is persisted, and the route stays on blue
    Canary.Result result = Canary.run(fulcrum, "deploy-9", "web", "main", "blue", "teal", Duration.ofMillis(200),
            percent -> CompletableFuture.completedFuture(null))
        .toCompletableFuture().get(30, TimeUnit.SECONDS);

    assertEquals(new Canary.Result(Canary.Outcome.ROLLED_BACK,
        "the step to 10 % was rejected (INVALID): routes[0].pools[1].pool: unknown pool 'teal' (defined: blue, green)"), result);
    assertEquals(List.of(new WeightedPool("blue", 100)), fulcrum.routeTable("web").orElseThrow().route("main").orElseThrow().pools());
    assertEquals(REQUESTS, pool(traffic(), "blue"));
    // the rollback to where the route already was changed nothing either: the config's table is the whole history
    AdminClient.Response history = new AdminClient(fulcrum.adminAddress(), Optional.empty()).get("/api/routes/web/events");
    assertEquals(200, history.status(), history.toString());
    assertEquals(1, history.json().size(), history.body());
    assertEquals("config", history.json().get(0).get("origin").asText(), history.body());
  }

  @Test
  void theReadmeShowsThisProgram() throws Exception {
    String readme = java.nio.file.Files.readString(java.nio.file.Path.of("README.md"));
    int start = readme.indexOf("<!-- canary:start");
    int end = readme.indexOf("<!-- canary:end -->");
    assertTrue(start > 0 && end > start, "the README's canary block");
    List<String> code = java.nio.file.Files.readAllLines(java.nio.file.Path.of("src/test/java/dev/fulcrum/examples/Canary.java"))
        .stream().map(String::strip).toList();
    List<String> shown = readme.substring(start, end).lines().map(String::strip)
        .filter(l -> !l.isEmpty() && !l.startsWith("```") && !l.startsWith("<!--")).toList();
    assertTrue(shown.size() > 40, shown.toString());
    for (String line : shown) assertTrue(code.contains(line), "README line not in Canary.java: " + line);
  }
}
