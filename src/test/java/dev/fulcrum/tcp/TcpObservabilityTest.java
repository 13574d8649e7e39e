package dev.fulcrum.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.PoolHealth;
import dev.fulcrum.testing.PrometheusText;
import dev.fulcrum.testing.RawTcpServer;
import dev.fulcrum.testing.TestConfig;
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
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.ValueSource;

/** Metrics and the text access log of TCP listeners on both engines: exact counts after N connections, one line each. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ParameterizedClass(name = "engine = {0}")
@ValueSource(strings = {"nio", "streams"})
class TcpObservabilityTest {
  private static final Duration WAIT = Duration.ofSeconds(20);
  /** time client:port listener route pool backend "TCP -" status in out Tq/Tw/Tc/Tr/Tt retries id termination */
  private static final Pattern LINE = Pattern.compile(
      "(\\S+Z) 127\\.0\\.0\\.1:(\\d+) (\\S+) - (\\S+) (\\S+) \"TCP -\" - (-?\\d+) (-?\\d+) -1/-1/(-?\\d+)/-1/(\\d+) (\\d+) - (\\S+)");

  @Parameter String engine;

  private RawTcpServer echo;
  private Path accessLog;
  private Fulcrum fulcrum;
  private final HttpClient http = HttpClient.newHttpClient();

  @BeforeParameterizedClassInvocation(injectArguments = false)
  void start() throws IOException {
    echo = RawTcpServer.echo();
    accessLog = Files.createTempDirectory("fulcrum-access").resolve("access.log");
    fulcrum = Fulcrum.start(TestConfig.of("""
        fulcrum.access-log.path = "%s"
        fulcrum.health-check { type = tcp, timeout = 5s }
        fulcrum.pools { echo.backends = ["%s"], empty.backends = [] }
        fulcrum.listeners.tcp {
          l4 { bind = "127.0.0.1:0", pool = echo, engine = %s }
          none { bind = "127.0.0.1:0", pool = empty, engine = %s }
          quiet { bind = "127.0.0.1:0", pool = echo, engine = %s, access-log.enabled = off }
        }
        """.formatted(accessLog, echo.address(), engine, engine, engine)));
    PoolHealth.awaitAllUp(fulcrum, "echo", 1);
  }

  @AfterParameterizedClassInvocation(injectArguments = false)
  void stop() throws Exception {
    fulcrum.stop().toCompletableFuture().get();
    echo.close();
  }

  @Test
  void connectionsAreCountedAndLoggedOneLineEach() throws Exception {
    int n = 5;
    int port = fulcrum.tcpListener("l4").localAddress().getPort();
    for (int i = 0; i < n; i++) {
      try (Socket socket = new Socket("127.0.0.1", port)) {
        OutputStream out = socket.getOutputStream();
        out.write("hello\n".getBytes(StandardCharsets.US_ASCII));
        socket.shutdownOutput();
        InputStream in = socket.getInputStream();
        assertEquals("hello\n", new String(in.readAllBytes(), StandardCharsets.US_ASCII));
      }
    }
    Map<String, Double> metrics = Eventually.await(WAIT, n + " closed connections", this::scrape,
        m -> PrometheusText.value(m, "fulcrum_tcp_connections_total", "listener=l4", "termination=normal") == n);
    assertEquals(n, PrometheusText.value(metrics, "fulcrum_tcp_connections_total",
        "listener=l4", "pool=echo", "backend=" + echo.address(), "termination=normal"));
    assertEquals(n, PrometheusText.value(metrics, "fulcrum_listener_connections_accepted_total", "listener=l4", "protocol=tcp"));
    assertEquals(0, PrometheusText.value(metrics, "fulcrum_listener_connections_open", "listener=l4", "protocol=tcp"));
    assertEquals(6.0 * n, PrometheusText.value(metrics, "fulcrum_tcp_received_bytes_total", "listener=l4"));
    assertEquals(6.0 * n, PrometheusText.value(metrics, "fulcrum_tcp_sent_bytes_total", "listener=l4"));
    List<Matcher> lines = Eventually.await(WAIT, n + " access-log lines", () -> lines("l4"), l -> l.size() == n);
    for (Matcher line : lines) {
      assertEquals("echo", line.group(4));
      assertEquals(echo.address(), line.group(5));
      assertEquals("normal", line.group(11));
      assertEquals("0", line.group(10));
      assertTrue(Long.parseLong(line.group(8)) >= 0, "Tc");
      assertEquals("6", line.group(6));
      assertEquals("6", line.group(7));
    }
  }

  @Test
  void aConnectionWithoutBackendIsLoggedAsRefused() throws Exception {
    int port = fulcrum.tcpListener("none").localAddress().getPort();
    try (Socket socket = new Socket("127.0.0.1", port)) {
      assertEquals(-1, socket.getInputStream().read());
    }
    Matcher line = Eventually.await(WAIT, "the refused line", () -> lines("none"), l -> l.size() == 1).get(0);
    assertEquals("refused", line.group(11));
    assertEquals("-", line.group(5));
  }

  @Test
  void aListenerWithTheAccessLogOffWritesNoLines() throws Exception {
    int port = fulcrum.tcpListener("quiet").localAddress().getPort();
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.shutdownOutput();
      assertEquals(-1, socket.getInputStream().read());
    }
    Eventually.await(WAIT, "the connection counted", () ->
        PrometheusText.value(scrape(), "fulcrum_tcp_connections_total", "listener=quiet", "termination=normal") == 1);
    assertEquals(List.of(), lines("quiet"));
  }

  private List<Matcher> lines(String listener) {
    try {
      if (!Files.exists(accessLog)) return List.of();
      return Files.readAllLines(accessLog).stream()
          .map(LINE::matcher)
          .filter(m -> m.matches() && m.group(3).equals(listener))
          .toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private Map<String, Double> scrape() {
    try {
      HttpResponse<String> response = http.send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + fulcrum.adminAddress().getPort() + "/metrics")).build(),
          HttpResponse.BodyHandlers.ofString());
      return PrometheusText.parse(response.body());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }
}
