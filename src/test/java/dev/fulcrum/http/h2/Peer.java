package dev.fulcrum.http.h2;

import dev.fulcrum.http.wire.HeaderFields;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.eclipse.jetty.http2.frames.DataFrame;
import org.eclipse.jetty.http2.frames.Frame;
import org.eclipse.jetty.http2.frames.GoAwayFrame;
import org.eclipse.jetty.http2.frames.HeadersFrame;
import org.eclipse.jetty.http2.frames.PingFrame;
import org.eclipse.jetty.http2.frames.ResetFrame;
import org.eclipse.jetty.http2.frames.SettingsFrame;
import org.eclipse.jetty.http2.frames.WindowUpdateFrame;
import org.eclipse.jetty.http2.parser.Parser;
import org.eclipse.jetty.io.ByteBufferPool;

/** A connection under test with what it told its handler and the frames it wrote, parsed back. */
final class Peer implements H2ServerConnection.Handler, H2ServerConnection.Observer {
  final List<H2Request> requests = new ArrayList<>();
  final List<String> events = new ArrayList<>();
  final Map<Violation, Integer> violations = new EnumMap<>(Violation.class);
  final List<Frame> frames = new ArrayList<>();
  /** Body bytes seen per stream, taken at once unless {@link #slow}. */
  final Map<Integer, StringBuilder> bodies = new java.util.HashMap<>();
  boolean slow;
  long now = 1_000_000_000L;
  final H2ServerConnection connection;
  private final Parser parser = new Parser(ByteBufferPool.NON_POOLING, 1 << 20);

  Peer() {
    this(H2Settings.DEFAULTS);
  }

  Peer(H2Settings settings) {
    connection = new H2ServerConnection(settings, this, this, () -> now);
    parser.init(new Parser.Listener() {
      @Override
      public void onData(DataFrame frame) {
        // the frame's bytes are a view of the output: copy them
        ByteBuffer copy = ByteBuffer.allocate(frame.remaining());
        copy.put(frame.getByteBuffer().duplicate()).flip();
        frames.add(new DataFrame(frame.getStreamId(), copy, frame.isEndStream()));
      }

      @Override
      public void onHeaders(HeadersFrame frame) {
        frames.add(frame);
      }

      @Override
      public void onReset(ResetFrame frame) {
        frames.add(frame);
      }

      @Override
      public void onSettings(SettingsFrame frame) {
        frames.add(frame);
      }

      @Override
      public void onPing(PingFrame frame) {
        frames.add(frame);
      }

      @Override
      public void onGoAway(GoAwayFrame frame) {
        frames.add(frame);
      }

      @Override
      public void onWindowUpdate(WindowUpdateFrame frame) {
        frames.add(frame);
      }

      @Override
      public void onConnectionFailure(int error, String reason) {
        throw new AssertionError("Fulcrum wrote a frame that does not parse: " + reason);
      }
    });
  }

  /** Feeds the bytes whole. */
  Peer feed(byte[] bytes) {
    connection.feed(ByteBuffer.wrap(bytes));
    drain();
    return this;
  }

  Peer feed(RawFrames frames) {
    return feed(frames.bytes());
  }

  /** Parses what the connection wrote. */
  Peer drain() {
    ByteBuffer out = connection.output();
    while (out.hasRemaining()) parser.parse(out);
    return this;
  }

  <T extends Frame> List<T> of(Class<T> type) {
    List<T> found = new ArrayList<>();
    for (Frame f : frames) if (type.isInstance(f)) found.add(type.cast(f));
    return found;
  }

  GoAwayFrame goAway() {
    List<GoAwayFrame> g = of(GoAwayFrame.class);
    return g.isEmpty() ? null : g.get(g.size() - 1);
  }

  ResetFrame reset(int stream) {
    for (ResetFrame r : of(ResetFrame.class)) if (r.getStreamId() == stream) return r;
    return null;
  }

  int count(Violation v) {
    return violations.getOrDefault(v, 0);
  }

  @Override
  public void request(H2Request request) {
    requests.add(request);
    events.add("request " + request.streamId());
  }

  @Override
  public void bodyArrived(int streamId) {
    if (slow) return;
    take(streamId);
  }

  void take(int streamId) {
    ByteBuffer body = connection.body(streamId);
    if (body == null) return;
    int n = body.remaining();
    byte[] bytes = new byte[n];
    body.get(bytes);
    bodies.computeIfAbsent(streamId, k -> new StringBuilder()).append(new String(bytes, java.nio.charset.StandardCharsets.ISO_8859_1));
    connection.consumed(streamId, n);
  }

  @Override
  public void trailers(int streamId, HeaderFields trailers) {
    events.add("trailers " + streamId + " " + trailers.get("grpc-status"));
  }

  @Override
  public void reset(int streamId, int errorCode) {
    events.add("reset " + streamId + " " + errorCode);
  }

  @Override
  public void writable(int streamId) {
    events.add("writable " + streamId);
  }

  @Override
  public void violation(Violation violation) {
    violations.merge(violation, 1, Integer::sum);
  }
}
