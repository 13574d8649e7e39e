package dev.fulcrum.routes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import dev.fulcrum.Fulcrum;
import dev.fulcrum.config.HttpRouteSettings;
import dev.fulcrum.config.HttpRouteSettings.WeightedPool;
import dev.fulcrum.config.SettingsException;
import dev.fulcrum.pool.PoolEntity;
import dev.fulcrum.testing.AdminClient;
import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.HttpBackend;
import dev.fulcrum.testing.NamedBackend;
import dev.fulcrum.testing.PoolHealth;
import dev.fulcrum.testing.RawHttp;
import dev.fulcrum.testing.TestConfig;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * A listener's route table changed at runtime on one node, through the admin API and the Java API: new requests follow
 * at once (a kept-alive connection's next request too), an exchange in flight keeps its route; weighted and
 * header-matched routes; every bad change refused naming its field with nothing changed; the history; and after a
 * restart the journal's table, or with {@code bootstrap = config} the config's, applied as an event. In order.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RouteTableTest {
  @TempDir static Path dir;
  private static ActorTestKit kit;
  private static HttpBackend blue;
  private static HttpBackend green;
  private static HttpBackend slow;
  private static final CountDownLatch slowReached = new CountDownLatch(1);
  private static final CompletableFuture<Void> slowRelease = new CompletableFuture<>();
  private static Fulcrum fulcrum;
  private static AdminClient admin;
  private static final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @BeforeAll
  static void start() {
    kit = ActorTestKit.create("route-table-backends");
    blue = NamedBackend.start(kit.system(), "blue");
    green = NamedBackend.start(kit.system(), "green");
    slow = new HttpBackend(kit.system(), request -> {
      if (request.getUri().path().equals("/health")) {
        return CompletableFuture.completedFuture(org.apache.pekko.http.javadsl.model.HttpResponse.create().withEntity("up"));
      }
      slowReached.countDown();
      return slowRelease.thenApply(v -> org.apache.pekko.http.javadsl.model.HttpResponse.create().withEntity(HttpEntities.create("slow")));
    });
    fulcrum = startNode("");
    admin = new AdminClient(fulcrum.adminAddress(), Optional.empty());
  }

  private static Fulcrum startNode(String more) {
    Fulcrum node = Fulcrum.start(TestConfig.of(more + """

        pekko-persistence-jdbc.shared-databases.fulcrum.db.url = "%s"
        # snapshots every other event: the restart recovers the table from a snapshot and the events after it
        fulcrum.journal.snapshot-every = 2
        fulcrum.pools {
          blue.backends = ["%s"]
          green.backends = ["%s"]
          slow.backends = ["%s"]
        }
        fulcrum.listeners.http.web {
          bind = "127.0.0.1:0"
          routes = [{name = main, pool = blue}, {name = slow, path = "/slow", pool = slow}]
        }
        fulcrum.listeners.http.pk { bind = "127.0.0.1:0", engine = pekko, routes = [{name = main, pool = blue}] }
        """.formatted(TestConfig.fileJournalUrl(dir), blue.address(), green.address(), slow.address())));
    for (String pool : List.of("blue", "green", "slow")) PoolHealth.awaitAllUp(node, pool, 1);
    return node;
  }

  @AfterAll
  static void stop() throws Exception {
    slowRelease.complete(null);
    if (fulcrum != null) fulcrum.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
    kit.shutdownTestKit();
  }

  private static InetSocketAddress web() {
    return fulcrum.httpListener("web").localAddress();
  }

  private static HttpResponse<String> get(String path, String... headers) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + web().getPort() + path)).timeout(Duration.ofSeconds(10));
    for (int i = 0; i + 1 < headers.length; i += 2) b.header(headers[i], headers[i + 1]);
    try {
      return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private static JsonNode table() {
    AdminClient.Response r = admin.get("/api/routes/web");
    assertEquals(200, r.status(), r.toString());
    return r.json();
  }

  @Test
  @Order(1)
  void aChangeTakesEffectForNewRequestsWhileAnExchangeInFlightKeepsItsRoute() throws Exception {
    assertEquals(1, table().path("version").asLong(), "the config's table is the first event");
    try (RawHttp keptAlive = new RawHttp(web())) {
      assertEquals("blue", keptAlive.get("/"));
      CompletableFuture<HttpResponse<String>> inFlight =
          client.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + web().getPort() + "/slow/x")).build(),
              HttpResponse.BodyHandlers.ofString());
      assertTrue(slowReached.await(10, TimeUnit.SECONDS), "the slow backend got the request");
      AdminClient.Response changed = admin.put("/api/routes/web/slow/pools", "{\"pool\": \"green\"}");
      assertEquals(200, changed.status(), changed.toString());
      assertEquals(2, changed.json().path("version").asLong());
      assertEquals("green", changed.json().path("routes").get(1).path("pool").asText());
      // the answer comes once this node routes by the change: the next request, on the same connection, follows it
      assertEquals("green", keptAlive.get("/slow/x"));
      assertEquals("blue", keptAlive.get("/"));
      slowRelease.complete(null);
      HttpResponse<String> old = inFlight.get(10, TimeUnit.SECONDS);
      assertEquals("slow", old.body(), "the exchange in flight kept the route it started with");
    }
  }

  @Test
  @Order(2)
  void aWeightedSplitSendsEachPoolItsShare() {
    AdminClient.Response split = admin.put("/api/routes/web/main/pools",
        "{\"pools\": [{\"pool\": \"blue\", \"weight\": 80}, {\"pool\": \"green\", \"weight\": 20}]}");
    assertEquals(200, split.status(), split.toString());
    Map<String, Integer> counts = new HashMap<>();
    int n = 2000;
    try (RawHttp http = new RawHttp(web())) {
      for (int i = 0; i < n; i++) counts.merge(http.get("/"), 1, Integer::sum);
    }
    // 2000 draws at p = 0.2: the standard deviation is 0.009; 0.035 is almost four of them
    assertEquals(0.20, counts.getOrDefault("green", 0) / (double) n, 0.035, counts.toString());
    assertEquals(n, counts.getOrDefault("blue", 0) + counts.getOrDefault("green", 0), counts.toString());
  }

  @Test
  @Order(3)
  void aHeaderRouteFromTheJavaApiTakesCanaryRequests() throws Exception {
    HttpRouteSettings canary = fulcrum.parseRoute("web", "{name = canary, match-header = \"X-Canary: 1\", pool = green}");
    RouteTableEntity.Reply reply = fulcrum.changeRoutes("web", PoolEntity.Request.of("deploy-tool", Duration.ofSeconds(4)),
        (request, r) -> new RouteTableEntity.AddRoute(canary, OptionalInt.of(0), request, r)).toCompletableFuture().get(10, TimeUnit.SECONDS);
    RouteTableState state = assertInstanceOf(RouteTableEntity.Ok.class, reply).state();
    assertEquals("canary", state.routes().get(0).name());
    fulcrum.awaitRoutes("web", state.version(), Duration.ofSeconds(5)).toCompletableFuture().get();
    for (int i = 0; i < 20; i++) assertEquals("green", get("/", "X-Canary", "1").body());
    // back to one pool for the rest: the split's weight goes
    RouteTableEntity.Reply one = fulcrum.changeRoutes("web", PoolEntity.Request.javaApi(),
        (request, r) -> new RouteTableEntity.SetPools("main", List.of(new WeightedPool("blue", 100)), request, r)).toCompletableFuture().get();
    fulcrum.awaitRoutes("web", ((RouteTableEntity.Ok) one).state().version(), Duration.ofSeconds(5)).toCompletableFuture().get();
    for (int i = 0; i < 20; i++) assertEquals("blue", get("/").body());
    assertEquals("blue", get("/", "X-Canary", "2").body());
    // the route moves behind the catch-all: refused, it would never be reached
    RouteTableEntity.Reply behind = fulcrum.changeRoutes("web", PoolEntity.Request.javaApi(),
        (request, r) -> new RouteTableEntity.MoveRoute("canary", 2, request, r)).toCompletableFuture().get();
    assertEquals("routes[2]: is unreachable: routes[0] ('main') takes every request to host '*' and path '/' before it; "
        + "put the route with a condition first", assertInstanceOf(RouteTableEntity.Rejected.class, behind).message());
  }

  @Test
  @Order(4)
  void badChangesAreRefusedNamingTheFieldAndChangeNothing() {
    JsonNode before = table();
    Map<String, String[]> cases = new java.util.LinkedHashMap<>();
    cases.put("missing pool", new String[] {"POST", "/api/routes/web", "{\"path\": \"/x\", \"pool\": \"nope\"}",
        "routes[3].pool: unknown pool 'nope' (defined: blue, green, slow)"});
    cases.put("weights", new String[] {"PUT", "/api/routes/web/main/pools",
        "{\"pools\": [{\"pool\": \"blue\", \"weight\": 60}, {\"pool\": \"green\", \"weight\": 30}]}", "routes[1].pools: the weights add up to 90, not 100"});
    cases.put("one weight", new String[] {"PUT", "/api/routes/web/main/pools",
        "{\"pools\": [{\"pool\": \"blue\", \"weight\": 60}]}", "route.pools: the weights add up to 60, not 100"});
    cases.put("glob", new String[] {"PUT", "/api/routes/web/main/rules", "{\"firewall\": {\"deny-paths\": [\"admin*\"]}}",
        "route.firewall.deny-paths: [0] 'admin*' must start with '/' or '*' (a glob on the request path)"});
    cases.put("cidr", new String[] {"PUT", "/api/routes/web/main/rules", "{\"firewall\": {\"allow\": [\"10.0.0.0/40\"]}}",
        "route.firewall.allow: [0] '10.0.0.0/40' has prefix length 40, outside 0-32"});
    cases.put("unreachable", new String[] {"POST", "/api/routes/web", "{\"name\": \"late\", \"match-header\": \"X-Late\", \"pool\": \"green\"}",
        "routes[3]: is unreachable: routes[1] ('main') takes every request to host '*' and path '/' before it"});
    cases.put("overlap", new String[] {"POST", "/api/routes/web", "{\"name\": \"again\", \"path\": \"/slow/\", \"pool\": \"green\"}",
        "routes[3]: matches the same host '*' and path '/slow' as routes[2]"});
    cases.put("host", new String[] {"POST", "/api/routes/web", "{\"host\": \"bad host\", \"pool\": \"green\"}",
        "route.host: 'bad host' is not \"*\", a host name or \"*.domain\""});
    cases.put("unknown field", new String[] {"POST", "/api/routes/web", "{\"pool\": \"green\", \"colour\": 1}", "route.colour: is not a route setting"});
    cases.put("add position", new String[] {"POST", "/api/routes/web", "{\"name\": \"far\", \"path\": \"/far\", \"pool\": \"green\", \"position\": 9}",
        "position: 9 is outside 0-3"});
    cases.put("position", new String[] {"PUT", "/api/routes/web/main/position", "{\"position\": 9}", "position: 9 is outside 0-2"});
    for (Map.Entry<String, String[]> c : cases.entrySet()) {
      String[] t = c.getValue();
      AdminClient.Response r = admin.send(t[0], t[1], t[2], Optional.empty());
      assertEquals(400, r.status(), c.getKey() + ": " + r);
      assertTrue(r.error().startsWith(t[3]), c.getKey() + ": " + r.error());
    }
    assertEquals(404, admin.put("/api/routes/web/nope/pools", "{\"pool\": \"blue\"}").status());
    assertEquals(404, admin.delete("/api/routes/nolistener/main").status());
    assertEquals(before, table(), "nothing changed");
    // the Java API refuses the same with the same text
    RouteTableEntity.Reply reply = fulcrum.changeRoutes("web", PoolEntity.Request.javaApi(),
        (request, r) -> new RouteTableEntity.SetPools("main", List.of(new WeightedPool("blue", 60), new WeightedPool("green", 30)), request, r))
        .toCompletableFuture().join();
    assertEquals("routes[1].pools: the weights add up to 90, not 100", assertInstanceOf(RouteTableEntity.Rejected.class, reply).message());
    String parse = org.junit.jupiter.api.Assertions.assertThrows(SettingsException.class,
        () -> fulcrum.parseRoute("web", "{host = \"bad host\", pool = green}")).getMessage();
    assertTrue(parse.startsWith("route.host: 'bad host' is not"), parse);
    assertEquals(before, table(), "nothing changed");
  }

  @Test
  @Order(4)
  void aRouteThePekkoEngineCannotServeIsRefusedAsTheConfigRefusesIt() {
    String expected = "routes[0].send-proxy-protocol: needs engine = nio (Pekko's client pools cannot send a PROXY header)";
    long version = admin.get("/api/routes/pk").json().path("version").asLong();
    AdminClient.Response api = admin.post("/api/routes/pk", "{\"position\": 0, \"name\": \"p\", \"path\": \"/p\", \"pool\": \"green\", "
        + "\"send-proxy-protocol\": \"v2\"}");
    assertEquals(400, api.status(), api.toString());
    assertTrue(api.error().startsWith(expected), api.error());
    RouteTableEntity.Reply reply = fulcrum.changeRoutes("pk", PoolEntity.Request.javaApi(), (request, r) -> new RouteTableEntity.AddRoute(
        fulcrum.parseRoute("pk", "{name = p, path = /p, pool = green, send-proxy-protocol = v1}"), OptionalInt.of(0), request, r))
        .toCompletableFuture().join();
    assertTrue(assertInstanceOf(RouteTableEntity.Rejected.class, reply).message().startsWith(expected), reply.toString());
    assertEquals(version, admin.get("/api/routes/pk").json().path("version").asLong(), "nothing changed");
    assertEquals(1, admin.get("/api/routes/pk/events").json().size(), "nothing written");
  }

  @Test
  @Order(5)
  void theHistoryListsEveryChangeWithItsOrigin() {
    JsonNode events = admin.get("/api/routes/web/events").json();
    List<String> seen = new ArrayList<>();
    events.forEach(e -> seen.add(e.path("type").asText() + " " + e.path("origin").asText().replaceAll(" .*", "")));
    assertEquals(List.of("routes-set config", "pools-changed admin-api", "pools-changed admin-api", "route-added deploy-tool",
        "pools-changed java-api"), seen);
    assertEquals(table().path("version").asLong(), events.get(events.size() - 1).path("seq").asLong());
    assertEquals(3, admin.get("/api/routes/web/events?from=3").json().get(0).path("seq").asLong());
  }

  @Test
  @Order(6)
  void afterARestartTheJournalWinsUnlessBootstrapIsConfig() throws Exception {
    JsonNode before = table();
    fulcrum.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
    ListAppender<ILoggingEvent> logs = new ListAppender<>();
    logs.start();
    ((Logger) LoggerFactory.getLogger(RouteControl.class)).addAppender(logs);
    try {
      fulcrum = startNode("");
      admin = new AdminClient(fulcrum.adminAddress(), Optional.empty());
      assertEquals(before, table(), "the journal's table, replicated to this node, as before the restart");
      assertEquals("green", get("/", "X-Canary", "1").body());
      assertTrue(logs.list.stream().anyMatch(e -> e.getFormattedMessage().contains("route 'canary' is in the journal, not in config")
          && e.getFormattedMessage().contains("The journal is kept")), "warned once: " + logs.list);
      fulcrum.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
      fulcrum = startNode("fulcrum.journal.bootstrap = config\n");
      admin = new AdminClient(fulcrum.adminAddress(), Optional.empty());
      JsonNode applied = table();
      assertEquals(before.path("version").asLong() + 1, applied.path("version").asLong());
      assertEquals(2, applied.path("routes").size(), "the config's two routes");
      assertEquals("slow", applied.path("routes").get(1).path("pool").asText());
      JsonNode events = admin.get("/api/routes/web/events").json();
      assertEquals("config", events.get(events.size() - 1).path("origin").asText());
      assertEquals("blue", get("/", "X-Canary", "1").body(), "the canary route is gone");
    } finally {
      ((Logger) LoggerFactory.getLogger(RouteControl.class)).detachAppender(logs);
    }
  }
}
