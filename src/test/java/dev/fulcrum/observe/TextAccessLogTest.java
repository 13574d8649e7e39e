package dev.fulcrum.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.config.ObservabilitySettings;
import dev.fulcrum.http.proxy.ExchangeLog;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The HTTP text line: its fields in order, and nothing a client sends can split it or add a line. */
class TextAccessLogTest {
  @TempDir Path dir;

  @Test
  void aLineHasItsFieldsAndClientTextIsEscaped() throws Exception {
    Path file = dir.resolve("access.log");
    AccessLog log = new AccessLog(new ObservabilitySettings.AccessLog(true, file, ObservabilitySettings.Format.TEXT, 64, 40));
    Metrics metrics = new Metrics();
    HttpObserver observer = new HttpObserver(metrics, "web", log,
        new ListenerMeters(metrics.registry(), "web", "http"), true);
    ExchangeLog exchange = new ExchangeLog(observer);
    long t0 = 1_000_000_000L;
    exchange.begin(t0, t0 + 2_000_000, "::1", 4242, 120);
    exchange.request("GET", "/a \"quoted\"\r\nX-Injected: 1/" + "y".repeat(100), "id with space");
    exchange.answered(404, 50, t0 + 5_000_000);
    ExchangeLog stream = new ExchangeLog(observer);
    stream.protocol = ExchangeLog.HTTP_2;
    stream.begin(t0, t0, "127.0.0.1", 4243, 0);
    stream.request("POST", "/grpc.health.v1.Health/Check", "id2");
    stream.answered(200, 0, t0 + 1_000_000);
    log.stop();
    List<String> lines = Files.readAllLines(file);
    assertEquals(2, lines.size(), lines.toString());
    assertTrue(lines.get(1).contains(" \"POST /grpc.health.v1.Health/Check HTTP/2\" 200 "), lines.get(1));
    String line = lines.get(0);
    assertTrue(line.matches("\\S+Z \\[::1\\]:4242 web - - - \"GET .*\" 404 120 50 2/-1/-1/-1/5 0 \\S+ local"), line);
    assertTrue(line.contains("\"GET /a \\\"quoted\\\"\\x0d\\x0aX-Injected: 1/yyyyyyyyyyyyy HTTP/1.1\""), line);
    assertTrue(line.contains(" id\\x20with\\x20space "), line);
    assertEquals(1.0, metrics.registry().get("fulcrum.http.requests").tag("code", "4xx").counter().count());
    assertEquals(2.0, metrics.registry().get("fulcrum.http.terminations").tag("termination", "local").counter().count());
    metrics.close();
  }
}
