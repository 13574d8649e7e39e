package dev.fulcrum.http.h2;

import dev.fulcrum.http.wire.HeaderFields;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * One HTTP/2 exchange through the connection layer without sockets: a client's HEADERS (an h2load-like GET) and
 * its DATA-less end parsed (Jetty's parser and HPACK decoder, then Fulcrum's stream and field rules), the response's
 * HEADERS and one DATA frame generated. What the h2 path costs per request before any I/O. Run with the {@code jmh}
 * profile, e.g. {@code -Djmh.args="H2ConnectionBenchmark -f1 -wi 2 -i 3 -w 1s -r 1s -prof gc"}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class H2ConnectionBenchmark implements H2ServerConnection.Handler {
  private static final H2Settings SETTINGS =
      new H2Settings(100, 65_535, 1 << 20, 16_384, 65_536, Integer.MAX_VALUE / 16, Integer.MAX_VALUE, 4 << 20);
  private H2ServerConnection connection;
  private int stream;
  private final HeaderFields response = new HeaderFields();
  private final ByteBuffer body = ByteBuffer.wrap("backend 9001\n".getBytes());
  private final byte[] request = new RawFrames().headers(1, true, RawFrames.block(":method", "GET", ":scheme", "https",
      ":path", "/", ":authority", "127.0.0.1:8095", "user-agent", "h2load nghttp2/1.52.0")).bytes();

  @Setup
  public void setUp() {
    connection = new H2ServerConnection(SETTINGS, this, H2ServerConnection.Observer.NONE, System::nanoTime);
    connection.feed(ByteBuffer.wrap(new RawFrames().preface().windowUpdate(0, 1 << 30).bytes()));
    response.add("content-type", "text/plain");
    response.add("content-length", "13");
    stream = 1;
  }

  @Benchmark
  public int getAndRespond() {
    if (stream > (1 << 30)) setUp();
    // the stream id sits in bytes 5-8 of the frame header
    request[5] = (byte) (stream >>> 24);
    request[6] = (byte) (stream >>> 16);
    request[7] = (byte) (stream >>> 8);
    request[8] = (byte) stream;
    connection.feed(ByteBuffer.wrap(request));
    connection.respond(stream, 200, response, false);
    connection.data(stream, body.duplicate(), true);
    // a window update now and then keeps the connection's send window open, as a reading client's would
    if ((stream & 1023) == 1) connection.feed(ByteBuffer.wrap(new RawFrames().windowUpdate(0, 1 << 20).bytes()));
    ByteBuffer out = connection.output();
    int n = out.remaining();
    out.position(out.limit());
    stream += 2;
    return n;
  }

  @Override
  public void request(H2Request request) {}

  @Override
  public void bodyArrived(int streamId) {}

  @Override
  public void trailers(int streamId, HeaderFields trailers) {}

  @Override
  public void reset(int streamId, int errorCode) {}

  @Override
  public void writable(int streamId) {}
}
