package dev.fulcrum.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fulcrum.Fulcrum;
import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.HttpBackend;
import dev.fulcrum.testing.PoolHealth;
import dev.fulcrum.testing.PrometheusText;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;

/**
 * Metrics and access log of HTTP listeners on both engines: exact counters and histogram counts after N requests, a
 * scrape that a strict parser accepts, a killed backend in the gauges, and one JSON access-log line per request with
 * the right fields for each way a request ends.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@OnBothEngines
class HttpObservabilityTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration WAIT = Duration.ofSeconds(20);

  @Parameter String engine;

  private ActorSystem<Void> backends;
  private HttpBackend counted;
  private HttpBackend live;
  private HttpBackend slow;
  private HttpBackend hanging;
  private HttpBackend killable;
  private HttpBackend survivor;
  private RecordingBackend stopped;
  private Path accessLog;
  private Fulcrum fulcrum;
  private int port;
  private final HttpClient http = HttpClient.newHttpClient();

  @BeforeParameterizedClassInvocation(injectArguments = false)
  void start() throws Exception {
    backends = ActorSystem.create(Behaviors.empty(), "backends");
    counted = new HttpBackend(backends, answering("counted"));
    live = new HttpBackend(backends, answering("live"));
    killable = new HttpBackend(backends, answering("killable"));
    survivor = new HttpBackend(backends, answering("survivor"));
    slow = new HttpBackend(backends, request -> answerHealthOr(request, Duration.ofSeconds(2)));
    hanging = new HttpBackend(backends, request -> answerHealthOr(request, null));
    stopped = new RecordingBackend(backends, "stopped");
    accessLog = Files.createTempDirectory("fulcrum-access").resolve("access.log");
    String quiet = "health-check { interval = 1h, fall = 100 }";
    fulcrum = Fulcrum.start(ProxyTests.config(engine, """
        fulcrum.access-log { path = "%s", format = json }
        fulcrum.pools {
          counted { backends = ["%s"], %s }
          live { backends = ["%s"], %s }
          empty.backends = []
          refused { backends = ["%s"], %s }
          retried { backends = ["%s", "%s"], %s }
          slow { backends = ["%s"], %s }
          hanging { backends = ["%s"], %s }
          killable { backends = ["%s", "%s"], health-check { interval = 200ms, timeout = 2s, fall = 1, rise = 1 } }
        }
        fulcrum.listeners.http.main {
          bind = "127.0.0.1:0"
          routes = [
            {path = "/count", pool = counted}
            {path = "/ok", pool = live, firewall { deny-paths = ["/ok/admin*"] }}
            {path = "/empty", pool = empty}
            {path = "/refused", pool = refused}
            {path = "/retried", pool = retried}
            {path = "/slow", pool = slow, response-timeout = 300ms}
            {path = "/hang", pool = hanging}
            {path = "/kill", pool = killable}
          ]
        }
        """.formatted(accessLog.toString().replace("\\", "\\\\"),
            counted.address(), quiet, live.address(), quiet, stopped.address(), quiet,
            stopped.address(), live.address(), quiet, slow.address(), quiet, hanging.address(), quiet,
            killable.address(), survivor.address())));
    port = fulcrum.httpListener("main").localAddress().getPort();
    for (String pool : List.of("counted", "live", "refused", "slow", "hanging")) PoolHealth.awaitAllUp(fulcrum, pool, 1);
    PoolHealth.awaitAllUp(fulcrum, "retried", 2);
    PoolHealth.awaitAllUp(fulcrum, "killable", 2);
    stopped.server().stop();
  }

  /** Answers every path with its name (the demo backends know only / and /health). */
  private static org.apache.pekko.japi.function.Function<org.apache.pekko.http.javadsl.model.HttpRequest,
      CompletionStage<org.apache.pekko.http.javadsl.model.HttpResponse>> answering(String name) {
    return request -> CompletableFuture.completedFuture(
        org.apache.pekko.http.javadsl.model.HttpResponse.create().withEntity(name));
  }

  private static CompletionStage<org.apache.pekko.http.javadsl.model.HttpResponse> answerHealthOr(
      org.apache.pekko.http.javadsl.model.HttpRequest request, Duration delay) {
    if (request.getUri().path().equals("/health")) {
      return CompletableFuture.completedFuture(org.apache.pekko.http.javadsl.model.HttpResponse.create().withEntity("up"));
    }
    CompletableFuture<org.apache.pekko.http.javadsl.model.HttpResponse> later = new CompletableFuture<>();
    if (delay != null) {
      CompletableFuture.delayedExecutor(delay.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)
          .execute(() -> later.complete(org.apache.pekko.http.javadsl.model.HttpResponse.create().withEntity("late")));
    }
    return later;
  }

  @AfterParameterizedClassInvocation(injectArguments = false)
  void stop() throws Exception {
    ProxyTests.stop(fulcrum, backends);
  }

  // --- metrics

  @Test
  void countersAndHistogramsAreExactAfterNRequests() {
    int n = 7;
    for (int i = 0; i < n; i++) {
      RawHttp.Response response = RawHttp.get(port, "x", "/count/" + i);
      assertEquals(200, response.status(), response.body());
    }
    String backend = counted.address();
    // the access log's line (and so the counters) come once the response is written: wait for the last one
    Map<String, Double> metrics = Eventually.await(WAIT, n + " counted requests", this::scrape,
        m -> PrometheusText.value(m, "fulcrum_http_requests_total", "pool=counted", "code=2xx") == n);
    assertEquals(n, PrometheusText.value(metrics, "fulcrum_http_requests_total",
        "listener=main", "route=*/count", "pool=counted", "backend=" + backend, "code=2xx"));
    assertEquals(n, PrometheusText.value(metrics, "fulcrum_http_request_duration_seconds_count",
        "pool=counted", "backend=" + backend));
    assertEquals(n, PrometheusText.value(metrics, "fulcrum_http_response_head_duration_seconds_count",
        "pool=counted", "backend=" + backend));
    assertEquals(n, PrometheusText.value(metrics, "fulcrum_http_request_duration_seconds_bucket",
        "pool=counted", "backend=" + backend, "le=+Inf"));
    assertEquals(0, PrometheusText.value(metrics, "fulcrum_http_requests_total", "pool=counted", "code=5xx"));
    assertTrue(PrometheusText.value(metrics, "fulcrum_http_sent_bytes_total", "listener=main") > 0);
    assertTrue(PrometheusText.value(metrics, "fulcrum_listener_connections_accepted_total",
        "listener=main", "protocol=http") >= n);
    assertEquals(1, PrometheusText.value(metrics, "fulcrum_backend_up", "pool=counted", "backend=" + backend));
    assertEquals(1, PrometheusText.value(metrics, "fulcrum_backend_weight", "pool=counted", "backend=" + backend));
    assertEquals(1, PrometheusText.value(metrics, "fulcrum_backend_admin_state",
        "pool=counted", "backend=" + backend, "state=active"));
    assertEquals(0, PrometheusText.value(metrics, "fulcrum_backend_in_flight_requests", "pool=counted", "backend=" + backend));
    assertEquals(1, PrometheusText.value(metrics, "fulcrum_cluster_members", "status=Up"));
    assertEquals(0, PrometheusText.value(metrics, "fulcrum_cluster_unreachable_members"));
    assertTrue(metrics.keySet().stream().anyMatch(k -> k.startsWith("jvm_memory_used_bytes")), "jvm metrics");
    assertTrue(metrics.keySet().stream().anyMatch(k -> k.startsWith("process_cpu_usage")), "process metrics");
  }

  @Test
  void openMetricsWhenAsked() throws Exception {
    HttpResponse<String> response = http.send(HttpRequest.newBuilder(adminUri("/metrics"))
        .header("Accept", "application/openmetrics-text; version=1.0.0").build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, response.statusCode());
    assertTrue(response.headers().firstValue("Content-Type").orElse("").startsWith("application/openmetrics-text"));
    assertTrue(response.body().endsWith("# EOF\n"), "OpenMetrics ends with # EOF");
    HttpResponse<String> plain = http.send(HttpRequest.newBuilder(adminUri("/metrics")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertTrue(plain.headers().firstValue("Content-Type").orElse("").startsWith("text/plain; version=0.0.4"));
  }

  @Test
  void aKilledBackendShowsInTheUpGaugeAndTheTransitionCounter() {
    String victim = killable.address();
    killable.stop();
    Map<String, Double> metrics = Eventually.await(WAIT, "backend " + victim + " down in the metrics", this::scrape,
        m -> PrometheusText.value(m, "fulcrum_backend_up", "pool=killable", "backend=" + victim) == 0);
    assertEquals(1, PrometheusText.value(metrics, "fulcrum_backend_health_transitions_total",
        "pool=killable", "backend=" + victim, "to=DOWN"));
    assertEquals(1, PrometheusText.value(metrics, "fulcrum_backend_up", "pool=killable", "backend=" + survivor.address()));
  }

  // --- access log

  @Test
  void successLine() {
    JsonNode line = request("/ok/page?q=1", 200);
    assertEquals("normal", line.get("termination").asText());
    assertEquals("main", line.get("listener").asText());
    assertEquals("*/ok", line.get("route").asText());
    assertEquals("live", line.get("pool").asText());
    assertEquals(live.address(), line.get("backend").asText());
    assertEquals("GET", line.get("method").asText());
    assertEquals("/ok/page?q=1", line.get("uri").asText());
    assertEquals("HTTP/1.1", line.get("protocol").asText());
    assertEquals("127.0.0.1", line.get("client_ip").asText());
    assertTrue(line.get("client_port").asInt() > 0);
    assertTrue(line.get("bytes_out").asLong() > 0);
    assertEquals(0, line.get("retries").asInt());
    for (String t : List.of("tq_ms", "tc_ms", "tr_ms", "tt_ms")) assertTrue(line.get(t).asLong() >= 0, t);
  }

  @Test
  void noRouteLine() {
    JsonNode line = request("/nowhere", 404);
    assertEquals("local", line.get("termination").asText());
    assertTrue(line.get("backend").isNull());
  }

  @Test
  void firewallLine() {
    JsonNode line = request("/ok/admin", 403);
    assertEquals("local", line.get("termination").asText());
    assertTrue(line.get("backend").isNull());
  }

  @Test
  void refusedConnectLine() {
    JsonNode line = request("/refused", 502);
    assertEquals("connect-failed", line.get("termination").asText());
    assertEquals(stopped.address(), line.get("backend").asText());
    assertEquals(-1, line.get("tc_ms").asLong());
  }

  @Test
  void noBackendLine() {
    JsonNode line = request("/empty", 503);
    assertEquals("refused", line.get("termination").asText());
    assertTrue(line.get("backend").isNull());
  }

  @Test
  void responseTimeoutLine() {
    JsonNode line = request("/slow", 504);
    assertEquals("timeout", line.get("termination").asText());
    assertEquals(slow.address(), line.get("backend").asText());
  }

  @Test
  void retryLines() {
    // round robin over [stopped, live]: of two requests in a row, exactly one tries the stopped backend first
    JsonNode first = request("/retried/1", 200);
    JsonNode second = request("/retried/2", 200);
    assertEquals(1, first.get("retries").asInt() + second.get("retries").asInt());
    assertEquals(live.address(), first.get("backend").asText());
    assertEquals(live.address(), second.get("backend").asText());
  }

  @Test
  void clientAbortLine() throws Exception {
    String id = UUID.randomUUID().toString();
    double openBefore = PrometheusText.value(scrape(), "fulcrum_listener_connections_open", "listener=main", "protocol=http");
    try (Socket socket = new Socket("127.0.0.1", port)) {
      OutputStream out = socket.getOutputStream();
      out.write(("GET /hang HTTP/1.1\r\nHost: x\r\nX-Request-Id: " + id + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      // the request reached the backend once the pool counts it in flight
      Eventually.await(WAIT, "the request in flight", () ->
          PrometheusText.value(scrape(), "fulcrum_backend_in_flight_requests", "pool=hanging") == 1);
      socket.setSoLinger(true, 0); // a reset, as a client that is killed
    }
    JsonNode line = line(id);
    assertEquals("client-abort", line.get("termination").asText());
    assertEquals(hanging.address(), line.get("backend").asText());
    assertEquals(0, line.get("status").asInt());
    // the connection is counted closed (others' idle keep-alive connections may close meanwhile too)
    Eventually.await(WAIT, "the aborted connection counted closed", () -> PrometheusText.value(scrape(),
        "fulcrum_listener_connections_open", "listener=main", "protocol=http") <= openBefore);
  }

  /** Sends a GET with a fresh request id, checks the status, and returns its access-log line. */
  private JsonNode request(String target, int status) {
    String id = UUID.randomUUID().toString();
    RawHttp.Response response = RawHttp.get(port, "x", target, "X-Request-Id: " + id);
    assertEquals(status, response.status(), response.body());
    JsonNode line = line(id);
    assertEquals(status, line.get("status").asInt());
    assertEquals("http", line.get("type").asText());
    return line;
  }

  private JsonNode line(String requestId) {
    return Eventually.await(WAIT, "the access-log line of " + requestId, () -> find(requestId), Optional::isPresent).get();
  }

  private Optional<JsonNode> find(String requestId) {
    try {
      if (!Files.exists(accessLog)) return Optional.empty();
      List<JsonNode> found = new ArrayList<>();
      for (String text : Files.readAllLines(accessLog)) {
        if (!text.contains(requestId)) continue;
        JsonNode node = JSON.readTree(text); // every line is one JSON object
        if (requestId.equals(node.path("request_id").asText())) found.add(node);
      }
      if (found.size() > 1) throw new AssertionError("more than one line for " + requestId + ": " + found);
      return found.stream().findFirst();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private URI adminUri(String path) {
    return URI.create("http://127.0.0.1:" + fulcrum.adminAddress().getPort() + path);
  }

  private Map<String, Double> scrape() {
    try {
      HttpResponse<String> response = http.send(HttpRequest.newBuilder(adminUri("/metrics")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(200, response.statusCode(), response.body());
      return PrometheusText.parse(response.body());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  @SuppressWarnings("unused")
  private static String read(InputStream in) throws IOException {
    return new String(in.readAllBytes(), StandardCharsets.UTF_8);
  }
}
