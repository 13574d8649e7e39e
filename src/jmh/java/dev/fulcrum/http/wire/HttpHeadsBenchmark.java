package dev.fulcrum.http.wire;

import static java.nio.charset.StandardCharsets.ISO_8859_1;

import dev.fulcrum.config.HttpListenerSettings.HttpLimits;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;

/**
 * Finding and parsing the heads of the native engine's hot path: wrk's request and a small backend response, in
 * direct buffers as the event loops read them. Run with the {@code jmh} profile, e.g.
 * {@code -Djmh.args="HttpHeadsBenchmark -f1 -wi 2 -i 3 -w 1s -r 1s -prof gc"}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class HttpHeadsBenchmark {
  private static final HttpLimits LIMITS = new HttpLimits(8192, 100, 8192, 100 << 20, 1024);

  private final ByteBuffer request = direct("GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n");
  private final ByteBuffer response = direct(
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nDate: Mon, 02 Jun 2025 10:00:00 GMT\r\n\r\n");

  @Benchmark
  public Object parseRequest() {
    return HttpHeads.parseRequest(request, 0, HttpHeads.headEnd(request, 0, request.limit()), LIMITS);
  }

  @Benchmark
  public Object parseResponse() {
    return HttpHeads.parseResponse(response, 0, HttpHeads.headEnd(response, 0, response.limit()));
  }

  /** The head the engine writes for a backend: request line and a typical set of forwarded fields. */
  @Benchmark
  public Object writeRequestHead() {
    HeaderFields fields = new HeaderFields(8);
    fields.add("Host", "127.0.0.1:8080");
    fields.add("X-Forwarded-For", "127.0.0.1");
    fields.add("X-Forwarded-Proto", "http");
    fields.add("X-Forwarded-Host", "127.0.0.1:8080");
    fields.add("Via", "1.1 fulcrum");
    fields.add("X-Request-Id", "0123456789abcdef0123456789abcdef");
    return HeadWriter.request("GET", "/", 1, fields);
  }

  private static ByteBuffer direct(String text) {
    byte[] bytes = text.getBytes(ISO_8859_1);
    return ByteBuffer.allocateDirect(bytes.length).put(bytes).clear();
  }
}
