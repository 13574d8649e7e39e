package dev.fulcrum.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fulcrum.Fulcrum;
import dev.fulcrum.testing.AdminClient;
import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.HttpBackend;
import dev.fulcrum.testing.PoolHealth;
import dev.fulcrum.testing.TestConfig;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The admin API's additions: per-backend counters, the listeners, and the health-check settings of a pool. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AdminObservabilityTest {
  private static final String TOKEN = "t0ken";
  private ActorSystem<Void> backends;
  private HttpBackend backend;
  private Fulcrum fulcrum;
  private AdminClient admin;
  private AdminClient withToken;

  @BeforeAll
  void start() {
    backends = ActorSystem.create(Behaviors.empty(), "backends");
    backend = new HttpBackend(backends, r -> CompletableFuture.completedFuture(
        org.apache.pekko.http.javadsl.model.HttpResponse.create().withEntity("ok")));
    fulcrum = Fulcrum.start(TestConfig.of("""
        fulcrum.admin.token = "%s"
        fulcrum.health-check.timeout = 5s
        fulcrum.pools.web.backends = ["%s"]
        fulcrum.listeners.http.main { bind = "127.0.0.1:0", routes = [{pool = web}] }
        fulcrum.listeners.tcp.l4 { bind = "127.0.0.1:0", pool = web, access-log.enabled = off }
        """.formatted(TOKEN, backend.address())));
    PoolHealth.awaitAllUp(fulcrum, "web", 1);
    admin = new AdminClient(fulcrum.adminAddress(), Optional.empty());
    withToken = new AdminClient(fulcrum.adminAddress(), Optional.of(TOKEN));
  }

  @AfterAll
  void stop() throws Exception {
    fulcrum.stop().toCompletableFuture().get();
    backends.terminate();
  }

  @Test
  void poolsShowPerBackendCounters() throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    int port = fulcrum.httpListener("main").localAddress().getPort();
    for (int i = 0; i < 3; i++) {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/a")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(200, r.statusCode());
    }
    JsonNode b = Eventually.await(Duration.ofSeconds(10), "three requests counted",
        () -> admin.get("/api/pools/web").json().get("backends").get(0), n -> n.get("requests").asLong() == 3);
    assertEquals(0, b.get("inFlight").asInt());
    assertEquals(0, b.get("queued").asInt());
    assertEquals(0, b.get("errors").asInt());
    assertEquals(0, b.get("connectFailures").asInt());
  }

  @Test
  void listenersAreListed() {
    AdminClient.Response response = admin.get("/api/listeners");
    assertEquals(200, response.status());
    JsonNode list = response.json();
    assertEquals(2, list.size(), list.toString());
    assertEquals("l4", list.get(0).get("name").asText());
    assertEquals("tcp", list.get(0).get("protocol").asText());
    assertEquals(false, list.get(0).get("accessLog").asBoolean());
    assertEquals("main", list.get(1).get("name").asText());
    assertEquals("http", list.get(1).get("protocol").asText());
  }

  @Test
  void healthCheckSettingsAreChangedThroughTheApi() {
    assertEquals(401, admin.put("/api/pools/web/health-check", "{\"rise\": 3}").status());
    AdminClient.Response changed =
        withToken.put("/api/pools/web/health-check", "{\"interval\": \"5s\", \"rise\": 3, \"down-interval\": \"30s\"}");
    assertEquals(200, changed.status(), changed.toString());
    assertEquals("5000ms", changed.json().get("healthCheck").get("interval").asText());
    assertEquals(3, changed.json().get("healthCheck").get("rise").asInt());
    assertEquals("30000ms", changed.json().get("healthCheck").get("down-interval").asText());
    assertEquals("", changed.json().get("healthCheck").get("fast-interval").asText(), "unset: follows the interval");
    JsonNode now = admin.get("/api/pools/web/health-check").json().get("healthCheck");
    assertEquals(3, now.get("rise").asInt());
    assertEquals("http", now.get("type").asText(), "fields left out keep their values");
    JsonNode events = admin.get("/api/pools/web/events").json();
    assertTrue(events.toString().contains("admin-api"), events.toString());
  }

  @Test
  void badHealthCheckSettingsAreRefusedNamingTheField() {
    AdminClient.Response negative = withToken.put("/api/pools/web/health-check", "{\"interval\": \"-1s\"}");
    assertEquals(400, negative.status());
    assertTrue(negative.error().contains("interval: must be a positive duration"), negative.error());
    AdminClient.Response zeroDown = withToken.put("/api/pools/web/health-check", "{\"down-interval\": \"0s\"}");
    assertEquals(400, zeroDown.status());
    assertTrue(zeroDown.error().contains("down-interval: must be a positive duration"), zeroDown.error());
    AdminClient.Response unknown = withToken.put("/api/pools/web/health-check", "{\"every\": \"1s\"}");
    assertEquals(400, unknown.status());
    assertTrue(unknown.error().startsWith("every: is not a health-check setting (known: "), unknown.error());
    AdminClient.Response type = withToken.put("/api/pools/web/health-check", "{\"type\": \"ping\"}");
    assertEquals(400, type.status());
    assertTrue(type.error().contains("'ping' is not a health check type"), type.error());
    AdminClient.Response quoted = withToken.put("/api/pools/web/health-check", "{\"rise\": \"3\"}");
    assertEquals(400, quoted.status(), quoted.toString());
    assertEquals("field rise: must be an integer, got the string \"3\"", quoted.error());
    AdminClient.Response flag = withToken.put("/api/pools/web/tls", "{\"enabled\": \"false\"}");
    assertEquals(400, flag.status(), flag.toString());
    assertTrue(flag.error().startsWith("tls.enabled: must be true or false, got the string \"false\""), flag.error());
    assertEquals(400, withToken.put("/api/pools/web/health-check", "not json").status());
    assertEquals(404, withToken.put("/api/pools/nope/health-check", "{}").status());
  }

  @Test
  void metricsAndTheStatsPageAreReadOnly() {
    assertEquals(405, withToken.post("/metrics", "{}").status());
    assertEquals(200, admin.get("/").status());
    assertTrue(admin.get("/").body().contains("<title>Fulcrum stats</title>"));
    assertEquals(200, admin.get("/stats/stats.js").status());
  }
}
