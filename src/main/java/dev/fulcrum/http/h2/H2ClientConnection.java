package dev.fulcrum.http.h2;

import dev.fulcrum.http.wire.HeaderFields;
import dev.fulcrum.http.wire.HeaderView;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;
import java.util.function.LongSupplier;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.http.MetaData;
import org.eclipse.jetty.http2.ErrorCode;
import org.eclipse.jetty.http2.frames.DataFrame;
import org.eclipse.jetty.http2.frames.GoAwayFrame;
import org.eclipse.jetty.http2.frames.HeadersFrame;
import org.eclipse.jetty.http2.frames.PingFrame;
import org.eclipse.jetty.http2.frames.PrefaceFrame;
import org.eclipse.jetty.http2.frames.PushPromiseFrame;
import org.eclipse.jetty.http2.frames.ResetFrame;
import org.eclipse.jetty.http2.frames.SettingsFrame;
import org.eclipse.jetty.http2.frames.WindowUpdateFrame;
import org.eclipse.jetty.http2.parser.Parser;
import org.eclipse.jetty.io.ByteBufferPool;

/**
 * The client side of one HTTP/2 connection to a backend, without a socket (the counterpart of
 * {@link H2ServerConnection}, for pools with {@code protocol = h2 | h2c}): opens streams for requests of many clients
 * while the backend's SETTINGS_MAX_CONCURRENT_STREAMS allows ({@link #canOpen}), sends their bodies as its windows
 * allow, and hands responses, their bodies (bounded by the windows Fulcrum grants) and trailers to the engine. Push
 * is refused. The nio engine drives it through {@code http.nio.H2Upstream}.
 *
 * <p>Not thread-safe: one event loop owns it.
 */
public final class H2ClientConnection extends H2Connection {
  /** What the engine hears of its streams. */
  public interface Handler {
    /** The final response head of a stream (interim 1xx heads are dropped). */
    void response(int streamId, int status, HeaderFields headers, boolean endStream);

    /** Body bytes (or the end of the body) arrived: take them with {@link #body}. */
    void bodyArrived(int streamId);

    void trailers(int streamId, HeaderFields trailers);

    /** The backend reset the stream, sent a malformed response, or the connection ended under it. */
    void reset(int streamId, int errorCode);

    void writable(int streamId);

    /** The backend will take no stream above {@code lastStreamId}: new requests go to another connection. */
    default void goingAway(int lastStreamId) {}
  }

  private final Handler handler;
  private final Parser parser;
  private int nextStreamId = 1;
  private int peerMaxConcurrent = Integer.MAX_VALUE;
  private boolean goAwayReceived;

  public H2ClientConnection(H2Settings settings, Handler handler, LongSupplier clock) {
    super(settings, clock);
    this.handler = handler;
    this.parser = new Parser(ByteBufferPool.NON_POOLING, settings.maxHeaderListSize());
    this.parser.init(new Frames());
    this.parser.setMaxFrameSize(settings.maxFrameSize());
    control(new PrefaceFrame());
    Map<Integer, Integer> ours = new HashMap<>();
    ours.put(SettingsFrame.ENABLE_PUSH, 0);
    sendSettings(ours);
  }

  // --- streams

  /** Whether another stream may be opened now (the backend's limit, no GOAWAY, ids left). */
  public boolean canOpen() {
    return !closed && !goAwayReceived && streams.size() < peerMaxConcurrent && nextStreamId > 0;
  }

  /**
   * Opens a stream with a request head; its id, or -1 when {@link #canOpen} is false. {@code headers} are regular
   * fields (connection-specific ones are dropped, names lowercased); {@code endStream} when no body follows.
   */
  public int open(String method, String scheme, String authority, String path, HeaderView headers, boolean endStream) {
    if (!canOpen()) return -1;
    int id = nextStreamId;
    nextStreamId += 2;
    HttpFields.Mutable fields = HttpFields.build(headers.size());
    for (int i = 0; i < headers.size(); i++) {
      String name = headers.name(i).toLowerCase(java.util.Locale.ROOT);
      if (!connectionSpecific(name) && !name.equals("host")) fields.add(name, headers.value(i));
    }
    HttpURI uri = HttpURI.build().scheme(scheme).authority(authority).pathQuery(path);
    H2Stream stream = new H2Stream(id, settings.streamWindow(), peerInitialWindow);
    streams.put(id, stream);
    control(new HeadersFrame(id, new MetaData.Request(method, uri, HttpVersion.HTTP_2, fields), null, endStream));
    if (endStream) localEnd(stream);
    return id;
  }

  /** Ends the request body with trailers (gRPC clients send none, but HTTP allows them). */
  public void trailers(int streamId, HeaderView trailers) {
    H2Stream stream = streams.get(streamId);
    if (stream == null || !stream.state.localOpen()) return;
    HttpFields.Mutable fields = HttpFields.build(trailers.size());
    for (int i = 0; i < trailers.size(); i++) fields.add(trailers.name(i).toLowerCase(java.util.Locale.ROOT), trailers.value(i));
    control(new HeadersFrame(streamId, new MetaData(HttpVersion.HTTP_2, fields), null, true));
    localEnd(stream);
  }

  /** Cancels a stream (the client went away, or its deadline passed): the backend hears RST_STREAM. */
  public void reset(int streamId, ErrorCode error) {
    H2Stream stream = streams.remove(streamId);
    if (stream == null) return;
    control(new ResetFrame(streamId, error.code));
    if (stream.body != null) creditConnection(stream.body.remaining());
  }

  /** The engine moved {@code n} response body bytes on: the backend may send as many again. */
  public void consumed(int streamId, int n) {
    H2Stream stream = streams.get(streamId);
    if (stream != null) {
      if (stream.body != null && !stream.body.hasRemaining()) stream.body = null;
      if (stream.state.remoteOpen()) {
        acknowledge(stream, n);
      } else if (stream.state == StreamState.CLOSED || stream.body == null) {
        maybeForget(stream);
      }
    }
    creditConnection(n);
  }

  // --- input and output

  public void feed(ByteBuffer in) {
    while (in.hasRemaining() && !closed) {
      int before = in.position();
      parser.parse(in);
      if (in.position() == before) break;
    }
    if (closed) in.position(in.limit());
  }

  /** Whether the backend said GOAWAY: no new streams; the connection closes once the active ones end. */
  public boolean goingAway() {
    return goAwayReceived;
  }

  private final class Frames implements Parser.Listener {
    @Override
    public void onSettings(SettingsFrame frame) {
      if (frame.isReply()) return;
      if (!controlFrames.allow(clock.getAsLong())) {
        fail(ErrorCode.ENHANCE_YOUR_CALM_ERROR, "too many SETTINGS frames");
        return;
      }
      for (Map.Entry<Integer, Integer> e : frame.getSettings().entrySet()) {
        int value = e.getValue();
        switch (e.getKey()) {
          case SettingsFrame.HEADER_TABLE_SIZE -> {
            generator.getHpackEncoder().setMaxTableCapacity(value);
            generator.getHpackEncoder().setTableCapacity(Math.min(value, 4096));
          }
          case SettingsFrame.MAX_CONCURRENT_STREAMS -> peerMaxConcurrent = Math.max(0, value);
          case SettingsFrame.INITIAL_WINDOW_SIZE -> {
            if (!applyPeerInitialWindow(value)) return;
          }
          case SettingsFrame.MAX_FRAME_SIZE -> {
            if (value < 16_384 || value > 16_777_215) {
              fail(ErrorCode.PROTOCOL_ERROR, "SETTINGS_MAX_FRAME_SIZE out of range");
              return;
            }
            generator.setMaxFrameSize(value);
          }
          default -> {}
        }
      }
      control(new SettingsFrame(Map.of(), true));
    }

    @Override
    public void onPing(PingFrame frame) {
      ping(frame);
    }

    @Override
    public void onHeaders(HeadersFrame frame) {
      headers(frame.getStreamId(), frame.getMetaData(), frame.isEndStream());
    }

    @Override
    public void onData(DataFrame frame) {
      H2ClientConnection.this.data(frame);
    }

    @Override
    public void onReset(ResetFrame frame) {
      H2Stream stream = streams.remove(frame.getStreamId());
      if (stream == null) return;
      if (stream.body != null) creditConnection(stream.body.remaining());
      handler.reset(frame.getStreamId(), frame.getError());
    }

    @Override
    public void onWindowUpdate(WindowUpdateFrame frame) {
      int id = frame.getStreamId();
      if (id == 0) {
        connectionWindowUpdate(frame.getWindowDelta());
        return;
      }
      H2Stream stream = streams.get(id);
      if (stream != null) streamWindowUpdate(stream, frame.getWindowDelta());
    }

    @Override
    public void onPushPromise(PushPromiseFrame frame) {
      fail(ErrorCode.PROTOCOL_ERROR, "push was disabled (SETTINGS_ENABLE_PUSH = 0)");
    }

    @Override
    public void onGoAway(GoAwayFrame frame) {
      goAwayReceived = true;
      // streams above the last one the backend took were never processed: they may be retried elsewhere
      for (H2Stream stream : streams.values().toArray(H2Stream[]::new)) {
        if (stream.id > frame.getLastStreamId()) {
          streams.remove(stream.id);
          handler.reset(stream.id, ErrorCode.REFUSED_STREAM_ERROR.code);
        }
      }
      handler.goingAway(frame.getLastStreamId());
    }

    @Override
    public void onStreamFailure(int streamId, int error, String reason) {
      H2Stream stream = streams.get(streamId);
      if (stream != null) streamError(stream, ErrorCode.from(error) == null ? ErrorCode.PROTOCOL_ERROR : ErrorCode.from(error));
    }

    @Override
    public void onConnectionFailure(int error, String reason) {
      ErrorCode code = ErrorCode.from(error);
      fail(code == null ? ErrorCode.PROTOCOL_ERROR : code, reason);
    }
  }

  private void headers(int id, MetaData metaData, boolean endStream) {
    H2Stream stream = streams.get(id);
    if (stream == null) {
      if ((id & 1) == 0 || id >= nextStreamId) fail(ErrorCode.PROTOCOL_ERROR, "HEADERS on stream " + id + " never opened");
      return; // a stream Fulcrum reset: frames in flight are dropped
    }
    if (!stream.state.remoteOpen()) {
      streamError(stream, ErrorCode.STREAM_CLOSED_ERROR);
      return;
    }
    if (metaData instanceof MetaData.Response response) {
      if (stream.declaredLength != -1) { // a second final head
        streamError(stream, ErrorCode.PROTOCOL_ERROR);
        return;
      }
      int status = response.getStatus();
      if (status < 200) {
        if (endStream) streamError(stream, ErrorCode.PROTOCOL_ERROR);
        return; // interim: the final head follows
      }
      HeaderFields headers = new HeaderFields(response.getHttpFields().size());
      long length = -2;
      for (HttpField field : response.getHttpFields()) {
        String value = field.getValue() == null ? "" : field.getValue();
        if (H2Fields.problem(field.getName(), value) != null) {
          streamError(stream, ErrorCode.PROTOCOL_ERROR);
          return;
        }
        if (field.getName().equals("content-length")) length = H2Fields.contentLength(value);
        headers.add(field.getName(), value);
      }
      stream.declaredLength = length >= 0 ? length : -2; // -2: head seen, length not declared
      if (endStream) remoteEnd(stream);
      handler.response(id, status, headers, endStream);
      return;
    }
    if (stream.declaredLength == -1 || !endStream || metaData instanceof MetaData.Request) {
      streamError(stream, ErrorCode.PROTOCOL_ERROR); // trailers before a head, or not ending the stream
      return;
    }
    HeaderFields trailers = new HeaderFields(metaData.getHttpFields().size());
    for (HttpField field : metaData.getHttpFields()) {
      String value = field.getValue() == null ? "" : field.getValue();
      if (H2Fields.problem(field.getName(), value) != null) {
        streamError(stream, ErrorCode.PROTOCOL_ERROR);
        return;
      }
      trailers.add(field.getName(), value);
    }
    remoteEnd(stream);
    handler.trailers(id, trailers);
  }

  private void data(DataFrame frame) {
    int id = frame.getStreamId();
    int length = frame.flowControlLength();
    connectionReceiveWindow -= length;
    if (connectionReceiveWindow < 0) {
      fail(ErrorCode.FLOW_CONTROL_ERROR, "DATA beyond the connection window");
      return;
    }
    H2Stream stream = streams.get(id);
    if (stream == null || !stream.state.remoteOpen() || stream.declaredLength == -1) {
      creditConnection(length);
      if (stream != null) streamError(stream, ErrorCode.STREAM_CLOSED_ERROR);
      return;
    }
    stream.receiveWindow -= length;
    if (stream.receiveWindow < 0) {
      creditConnection(length);
      streamError(stream, ErrorCode.FLOW_CONTROL_ERROR);
      return;
    }
    ByteBuffer bytes = frame.getByteBuffer();
    int n = bytes.remaining();
    if (length > n) creditConnection(length - n);
    stream.received += n;
    if (stream.declaredLength >= 0 && (stream.received > stream.declaredLength
        || (frame.isEndStream() && stream.received != stream.declaredLength))) {
      streamError(stream, ErrorCode.PROTOCOL_ERROR);
      return;
    }
    stream.buffer(bytes, settings.streamWindow());
    if (frame.isEndStream()) stream.state = stream.state.remoteEnded();
    if (n > 0 || frame.isEndStream()) handler.bodyArrived(id);
    if (frame.isEndStream()) maybeForget(stream);
  }

  @Override
  void writable(int streamId) {
    handler.writable(streamId);
  }

  /** A backend's misbehaviour ends its stream or connection; it is not counted: the violations are clients'. */
  @Override
  void streamError(H2Stream stream, ErrorCode error, Violation violation) {
    streamError(stream, error);
  }

  @Override
  boolean fail(ErrorCode error, Violation violation, String reason) {
    fail(error, reason);
    return false;
  }

  private void streamError(H2Stream stream, ErrorCode error) {
    control(new ResetFrame(stream.id, error.code));
    streams.remove(stream.id);
    if (stream.body != null) creditConnection(stream.body.remaining());
    handler.reset(stream.id, error.code);
  }

  private void remoteEnd(H2Stream stream) {
    stream.state = stream.state.remoteEnded();
    maybeForget(stream);
  }

  @Override
  void localEnd(H2Stream stream) {
    stream.state = stream.state.localEnded();
    maybeForget(stream);
  }

  /** A stream both sides ended is forgotten once the engine took its body. */
  private void maybeForget(H2Stream stream) {
    if (stream.state == StreamState.CLOSED && (stream.body == null || !stream.body.hasRemaining())) {
      streams.remove(stream.id);
    }
  }

  private void fail(ErrorCode error, String reason) {
    if (closed) return;
    control(new GoAwayFrame(0, error.code, reason == null ? null : reason.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    closed = true;
    closeReason = error + ": " + reason;
    for (H2Stream stream : streams.values().toArray(H2Stream[]::new)) {
      streams.remove(stream.id);
      handler.reset(stream.id, error.code);
    }
  }

  private static boolean connectionSpecific(String name) {
    return switch (name) {
      case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade" -> true;
      default -> false;
    };
  }
}
