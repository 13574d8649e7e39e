package dev.fulcrum.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fulcrum.Fulcrum;
import dev.fulcrum.config.HostPort;
import dev.fulcrum.pool.PoolEntity;
import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.HttpBackend;
import dev.fulcrum.testing.PoolHealth;
import dev.fulcrum.testing.PrometheusText;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
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
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;

/**
 * The metrics and access-log fields beyond requests and durations, on both engines: retry-budget refusals, ejections
 * by reason, health-check results, journal writes, where the pools' entities run; queue time apart from connect time,
 * the route of a refused request, a download the client cut, and a WebSocket's line.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@OnBothEngines
class ObservabilityGapsTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final int STREAM_BYTES = 1 << 20;

  @Parameter String engine;

  private ActorSystem<Void> backends;
  private HttpBackend good;
  private HttpBackend failing;
  private HttpBackend stopped;
  private HttpBackend slow;
  private HttpBackend streamer;
  private HttpBackend webSockets;
  private String closedPort;
  private Path accessLog;
  private Fulcrum fulcrum;
  private int port;
  private final HttpClient http = HttpClient.newHttpClient();

  @BeforeParameterizedClassInvocation(injectArguments = false)
  void start() throws Exception {
    backends = ActorSystem.create(Behaviors.empty(), "backends");
    good = new HttpBackend(backends, request -> answer("good"));
    failing = new HttpBackend(backends, request -> request.getUri().path().equals("/health") ? answer("up")
        : CompletableFuture.completedFuture(org.apache.pekko.http.javadsl.model.HttpResponse.create().withStatus(500)));
    stopped = new HttpBackend(backends, request -> answer("stopped"));
    slow = new HttpBackend(backends, request -> {
      if (request.getUri().path().equals("/health")) return answer("up");
      CompletableFuture<org.apache.pekko.http.javadsl.model.HttpResponse> later = new CompletableFuture<>();
      CompletableFuture.delayedExecutor(800, TimeUnit.MILLISECONDS)
          .execute(() -> later.complete(org.apache.pekko.http.javadsl.model.HttpResponse.create().withEntity("late")));
      return later;
    });
    // 1 MiB with its length declared, 16 KiB every 50 ms: a client has time to go away in the middle
    streamer = new HttpBackend(backends, request -> request.getUri().path().equals("/health") ? answer("up")
        : CompletableFuture.completedFuture(org.apache.pekko.http.javadsl.model.HttpResponse.create().withEntity(
            HttpEntities.create(ContentTypes.APPLICATION_OCTET_STREAM, STREAM_BYTES,
                Source.repeat(ByteString.fromArray(new byte[16384])).take(STREAM_BYTES / 16384)
                    .throttle(1, Duration.ofMillis(50))))));
    webSockets = new HttpBackend(backends, request -> {
      var upgrade = request.getAttribute(AttributeKeys.webSocketUpgrade);
      if (upgrade.isEmpty()) return answer("up");
      Flow<Message, Message, ?> echo = Flow.<Message>create();
      return CompletableFuture.completedFuture(upgrade.get().handleMessagesWith(echo));
    });
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      closedPort = "127.0.0.1:" + s.getLocalPort();
    }
    accessLog = Files.createTempDirectory("fulcrum-gaps").resolve("access.log");
    String quiet = "health-check { interval = 1h, fall = 100 }";
    fulcrum = Fulcrum.start(ProxyTests.config(engine, """
        fulcrum.access-log { path = "%s", format = json }
        fulcrum.pools {
          budget { backends = ["%s", "%s"], %s, outlier-detection.consecutive-local-origin-failures = 0 }
          flaky { backends = ["%s", "%s"], %s, outlier-detection { consecutive-5xx = 3, consecutive-gateway-errors = 0,
            consecutive-local-origin-failures = 0, base-ejection-time = 1h, max-ejection-time = 1h,
            max-ejection-percent = 50 } }
          checked { backends = ["%s"], health-check.interval = 200ms }
          dead { backends = ["%s"], health-check { interval = 200ms, fall = 1 } }
          queued { backends = ["%s"], %s }
          streaming { backends = ["%s"], %s }
          ws { backends = ["%s"], %s }
          guarded { backends = ["%s"], %s }
        }
        fulcrum.listeners.http.main {
          bind = "127.0.0.1:0"
          retry-budget { ratio = 0, burst = 0 }
          routes = [
            {path = "/budget", pool = budget}
            {path = "/flaky", pool = flaky}
            {path = "/queued", pool = queued, max-connections-per-backend = 1}
            {path = "/stream", pool = streaming}
            {path = "/ws", pool = ws}
            {path = "/guarded", pool = guarded, firewall { deny-paths = ["/guarded/admin*"] }}
          ]
        }
        """.formatted(accessLog.toString().replace("\\", "\\\\"),
            stopped.address(), good.address(), quiet,
            failing.address(), good.address(), quiet,
            good.address(), closedPort,
            slow.address(), quiet, streamer.address(), quiet, webSockets.address(), quiet, good.address(), quiet)));
    port = fulcrum.httpListener("main").localAddress().getPort();
    PoolHealth.awaitAllUp(fulcrum, "budget", 2);
    PoolHealth.awaitAllUp(fulcrum, "flaky", 2);
    for (String pool : List.of("checked", "queued", "streaming", "ws", "guarded")) PoolHealth.awaitAllUp(fulcrum, pool, 1);
    stopped.stop();
  }

  private static CompletionStage<org.apache.pekko.http.javadsl.model.HttpResponse> answer(String text) {
    return CompletableFuture.completedFuture(org.apache.pekko.http.javadsl.model.HttpResponse.create().withEntity(text));
  }

  @AfterParameterizedClassInvocation(injectArguments = false)
  void stop() throws Exception {
    ProxyTests.stop(fulcrum, backends);
  }

  // --- metrics

  @Test
  void retryBudgetRefusalsAreCountedExactly() {
    // round robin over [stopped, good]: of 2n requests, n try the stopped backend first; a budget of 0 refuses each retry
    int n = 4;
    int failed = 0;
    for (int i = 0; i < 2 * n; i++) {
      int status = RawHttp.get(port, "x", "/budget/" + i).status();
      assertTrue(status == 200 || status == 502, "status " + status);
      if (status == 502) failed++;
    }
    assertEquals(n, failed);
    Map<String, Double> metrics = Eventually.await(WAIT, n + " refusals", this::scrape,
        m -> PrometheusText.value(m, "fulcrum_http_requests_total", "pool=budget", "code=5xx") == n);
    assertEquals(n, PrometheusText.value(metrics, "fulcrum_http_retry_budget_refusals_total", "listener=main"));
    assertEquals(n, PrometheusText.value(metrics, "fulcrum_backend_connect_failures_total",
        "pool=budget", "backend=" + stopped.address()));
    assertEquals(0, PrometheusText.value(metrics, "fulcrum_http_retries_total", "pool=budget"));
  }

  @Test
  void anEjectionIsCountedWithItsReason() {
    // round robin over [failing, good]: six requests give the failing backend three 500s in a row, its threshold
    for (int i = 0; i < 6; i++) RawHttp.get(port, "x", "/flaky/" + i);
    String victim = failing.address();
    Map<String, Double> metrics = Eventually.await(WAIT, "the ejection of " + victim, this::scrape,
        m -> PrometheusText.value(m, "fulcrum_backend_ejected", "pool=flaky", "backend=" + victim) == 1);
    assertEquals(1, PrometheusText.value(metrics, "fulcrum_backend_ejections_total",
        "pool=flaky", "backend=" + victim, "reason=consecutive_5xx"));
    assertEquals(3, PrometheusText.value(metrics, "fulcrum_http_requests_total",
        "pool=flaky", "backend=" + victim, "code=5xx"));
    assertEquals(0, PrometheusText.value(metrics, "fulcrum_backend_ejected", "pool=flaky", "backend=" + good.address()));
    assertEquals(1, PrometheusText.value(metrics, "fulcrum_backend_up", "pool=flaky", "backend=" + victim),
        "ejected is not down");
  }

  @Test
  void healthCheckResultsAreCounted() {
    Map<String, Double> metrics = Eventually.await(WAIT, "passed and failed checks", this::scrape,
        m -> PrometheusText.value(m, "fulcrum_backend_health_checks_total",
                "pool=checked", "backend=" + good.address(), "result=passed") >= 3
            && PrometheusText.value(m, "fulcrum_backend_health_checks_total",
                "pool=dead", "backend=" + closedPort, "result=failed") >= 3);
    assertEquals(0, PrometheusText.value(metrics, "fulcrum_backend_health_checks_total",
        "pool=checked", "backend=" + good.address(), "result=failed"));
    assertEquals(0, PrometheusText.value(metrics, "fulcrum_backend_health_checks_total",
        "pool=dead", "backend=" + closedPort, "result=passed"));
    assertEquals(1, PrometheusText.value(metrics, "fulcrum_backend_health_transitions_total",
        "pool=dead", "backend=" + closedPort, "to=DOWN"));
    assertEquals(0, PrometheusText.value(metrics, "fulcrum_backend_up", "pool=dead", "backend=" + closedPort));
  }

  @Test
  void journalWritesAreCountedAndEntitiesLocated() throws Exception {
    Map<String, Double> before = Eventually.await(WAIT, "the pool's creation in the journal", this::scrape,
        m -> PrometheusText.value(m, "fulcrum_journal_events_written_total", "pool=dead") >= 1);
    double written = PrometheusText.value(before, "fulcrum_journal_events_written_total", "pool=dead");
    PoolEntity.Reply reply = fulcrum.change("dead", PoolEntity.Request.of("test", Duration.ofSeconds(10)),
            (request, r) -> new PoolEntity.SetWeight(HostPort.parse(closedPort, false), 3, request, r))
        .toCompletableFuture().get(20, TimeUnit.SECONDS);
    assertTrue(reply instanceof PoolEntity.Ok, reply.toString());
    Map<String, Double> after = scrape();
    assertEquals(written + 1, PrometheusText.value(after, "fulcrum_journal_events_written_total", "pool=dead"));
    assertEquals(0, PrometheusText.value(after, "fulcrum_journal_failures_total", "pool=dead"));
    // a single node runs every entity
    String self = after.keySet().stream().filter(k -> k.startsWith("fulcrum_pool_entity_location{")
        && k.contains("pool=\"dead\"")).findFirst().orElseThrow(() -> new AssertionError("no location of pool dead"));
    assertEquals(1, after.get(self));
    assertTrue(self.contains("node=\"pekko://"), self);
  }

  // --- access log

  @Test
  void queueTimeIsApartFromConnectTime() throws Exception {
    // one connection allowed to the slow backend: the second request waits for the first to finish (800 ms)
    String first = UUID.randomUUID().toString();
    String second = UUID.randomUUID().toString();
    CompletableFuture<RawHttp.Response> a = CompletableFuture.supplyAsync(
        () -> RawHttp.get(port, "x", "/queued/1", "X-Request-Id: " + first));
    Eventually.await(WAIT, "the first request at the backend", this::scrape,
        m -> PrometheusText.value(m, "fulcrum_backend_in_flight_requests", "pool=queued") == 1);
    CompletableFuture<RawHttp.Response> b = CompletableFuture.supplyAsync(
        () -> RawHttp.get(port, "x", "/queued/2", "X-Request-Id: " + second));
    assertEquals(200, a.get(20, TimeUnit.SECONDS).status());
    assertEquals(200, b.get(20, TimeUnit.SECONDS).status());
    JsonNode waited = line(second);
    if (engine.equals("nio")) {
      assertTrue(waited.get("tw_ms").asLong() >= 200, "Tw " + waited);
      assertTrue(waited.get("tc_ms").asLong() < waited.get("tw_ms").asLong(), "Tc apart from Tw " + waited);
      assertEquals(0, line(first).get("tw_ms").asLong(), "the first did not wait");
    } else {
      // Pekko HTTP's client pool queues inside itself: its wait is in Tc, Tw is unknown
      assertEquals(-1, waited.get("tw_ms").asLong());
    }
  }

  @Test
  void aRefusedRequestsLineNamesItsRoute() {
    String id = UUID.randomUUID().toString();
    assertEquals(403, RawHttp.get(port, "x", "/guarded/admin", "X-Request-Id: " + id).status());
    JsonNode line = line(id);
    assertEquals(403, line.get("status").asInt());
    assertEquals("*/guarded", line.get("route").asText());
    assertEquals("guarded", line.get("pool").asText());
    assertTrue(line.get("backend").isNull());
    assertEquals("local", line.get("termination").asText());
  }

  @Test
  void aDownloadTheClientCutsIsAClientAbort() throws Exception {
    String id = UUID.randomUUID().toString();
    try (Socket socket = new Socket("127.0.0.1", port)) {
      OutputStream out = socket.getOutputStream();
      out.write(("GET /stream HTTP/1.1\r\nHost: x\r\nX-Request-Id: " + id + "\r\n\r\n")
          .getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      InputStream in = socket.getInputStream();
      byte[] some = new byte[40_000];
      int read = 0;
      while (read < some.length) {
        int n = in.read(some, read, some.length - read);
        assertTrue(n > 0, "the download ended early");
        read += n;
      }
      assertTrue(new String(some, 0, 12, StandardCharsets.ISO_8859_1).startsWith("HTTP/1.1 200"));
      socket.setSoLinger(true, 0); // a reset, as a client that is killed
    }
    JsonNode line = line(id);
    assertEquals("client-abort", line.get("termination").asText(), line.toString());
    assertEquals(200, line.get("status").asInt());
    assertEquals(streamer.address(), line.get("backend").asText());
    long out = line.get("bytes_out").asLong();
    assertTrue(out > 0 && out < STREAM_BYTES, "bytes out as they passed, not as declared: " + out);
  }

  @Test
  void aWebSocketHasOneLineWhenItCloses() throws Exception {
    String id = UUID.randomUUID().toString();
    CompletableFuture<String> echoed = new CompletableFuture<>();
    CompletableFuture<Integer> closed = new CompletableFuture<>();
    WebSocket ws = http.newWebSocketBuilder()
        .header("X-Request-Id", id)
        .buildAsync(URI.create("ws://127.0.0.1:" + port + "/ws/chat"), new WebSocket.Listener() {
          @Override
          public CompletionStage<?> onText(WebSocket socket, CharSequence data, boolean last) {
            echoed.complete(data.toString());
            socket.request(1); // the closing frame is read only on demand too
            return null;
          }

          @Override
          public CompletionStage<?> onClose(WebSocket socket, int status, String reason) {
            closed.complete(status);
            return null;
          }
        })
        .get(10, TimeUnit.SECONDS);
    ws.sendText("hello", true).get(5, TimeUnit.SECONDS);
    assertEquals("hello", echoed.get(5, TimeUnit.SECONDS));
    ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(5, TimeUnit.SECONDS);
    assertEquals(WebSocket.NORMAL_CLOSURE, closed.get(5, TimeUnit.SECONDS));
    // the JDK's client may keep its socket open after the closing handshake; a browser closes it
    ws.abort();
    JsonNode line = line(id);
    assertEquals(101, line.get("status").asInt());
    String end = line.get("termination").asText();
    assertTrue(end.equals("normal") || end.equals("client-abort"), line.toString());
    assertEquals(webSockets.address(), line.get("backend").asText());
    assertEquals("*/ws", line.get("route").asText());
    assertTrue(line.get("bytes_in").asLong() >= 5, line.toString());
    assertTrue(line.get("bytes_out").asLong() >= 5, line.toString());
  }

  private JsonNode line(String requestId) {
    return Eventually.await(WAIT, "the access-log line of " + requestId, () -> find(requestId), Optional::isPresent).get();
  }

  private Optional<JsonNode> find(String requestId) {
    try {
      if (!Files.exists(accessLog)) return Optional.empty();
      List<JsonNode> found = new ArrayList<>();
      for (String text : Files.readAllLines(accessLog)) {
        JsonNode node = JSON.readTree(text); // every line is one JSON object
        if (requestId.equals(node.path("request_id").asText())) found.add(node);
      }
      if (found.size() > 1) throw new AssertionError("more than one line for " + requestId + ": " + found);
      return found.stream().findFirst();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private Map<String, Double> scrape() {
    try {
      HttpResponse<String> response = http.send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + fulcrum.adminAddress().getPort() + "/metrics")).build(),
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
}
