package dev.fulcrum.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.config.ObservabilitySettings;
import dev.fulcrum.http.proxy.ExchangeLog;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The access log of a node with several threads serving requests at once: every line reaches the file whole, each
 * thread's in its order, with the time its request began; a thread that is gone leaves nothing behind once its lines
 * are written.
 */
class AccessLogTest {
  @TempDir Path dir;

  @Test
  void linesOfManyThreadsAllReachTheFileWholeAndInEachThreadsOrder() throws Exception {
    Path file = dir.resolve("access.log");
    AccessLog log = new AccessLog(new ObservabilitySettings.AccessLog(true, file, ObservabilitySettings.Format.TEXT,
        1 << 16, 1024));
    Metrics metrics = new Metrics();
    HttpObserver observer = new HttpObserver(metrics, "web", log, new ListenerMeters(metrics.registry(), "web", "http"),
        false);
    int threads = 4;
    int each = 20_000;
    Instant before = Instant.now();
    List<Thread> producers = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      int id = t;
      Thread producer = new Thread(() -> {
        ExchangeLog exchange = new ExchangeLog(observer);
        for (int i = 0; i < each; i++) {
          long now = System.nanoTime();
          // the request took 2 s: its line shows when it began
          exchange.begin(now - 2_000_000_000L, now, "192.0.2.7", 40000 + id, 80);
          exchange.request("GET", "/t" + id + "/" + i, null);
          exchange.answered(204, 0, now);
        }
      });
      producers.add(producer);
      producer.start();
    }
    for (Thread p : producers) p.join();
    log.drainForTest();
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    // the threads are gone: the writer forgets their rings at its next look
    while (log.rings() > 0 && System.nanoTime() < deadline) Thread.onSpinWait();
    assertEquals(0, log.rings());
    assertEquals(0, log.dropped());
    assertEquals((long) threads * each, log.lines());
    log.stop();
    Instant after = Instant.now();

    Pattern shape = Pattern.compile("(\\S+Z) 192\\.0\\.2\\.7:4000(\\d) web - - - \"GET /t(\\d)/(\\d+) HTTP/1\\.1\" 204 80 0 "
        + "2000/-1/-1/-1/2000 0 \\S+ local");
    int[] next = new int[threads];
    List<String> lines = Files.readAllLines(file);
    assertEquals(threads * each, lines.size());
    for (String line : lines) {
      Matcher m = shape.matcher(line);
      assertTrue(m.matches(), line);
      int id = Integer.parseInt(m.group(2));
      assertEquals(id, Integer.parseInt(m.group(3)));
      assertEquals(next[id]++, Integer.parseInt(m.group(4)), "thread " + id + "'s lines in order");
      Instant start = Instant.parse(m.group(1));
      assertTrue(!start.isBefore(before.minusSeconds(2).minusMillis(1)) && !start.isAfter(after.minusSeconds(2)),
          "began 2 s before it was logged: " + line);
    }
    metrics.close();
  }
}
