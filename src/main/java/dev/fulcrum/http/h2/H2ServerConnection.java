package dev.fulcrum.http.h2;

import dev.fulcrum.http.wire.HeaderFields;
import dev.fulcrum.http.wire.HeaderView;
import dev.fulcrum.http.wire.HttpHeads;
import dev.fulcrum.http.wire.WireError;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.function.LongSupplier;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.http.MetaData;
import org.eclipse.jetty.http2.ErrorCode;
import org.eclipse.jetty.http2.frames.ContinuationFrame;
import org.eclipse.jetty.http2.frames.DataFrame;
import org.eclipse.jetty.http2.frames.Frame;
import org.eclipse.jetty.http2.frames.GoAwayFrame;
import org.eclipse.jetty.http2.frames.HeadersFrame;
import org.eclipse.jetty.http2.frames.PingFrame;
import org.eclipse.jetty.http2.frames.PriorityFrame;
import org.eclipse.jetty.http2.frames.PushPromiseFrame;
import org.eclipse.jetty.http2.frames.ResetFrame;
import org.eclipse.jetty.http2.frames.SettingsFrame;
import org.eclipse.jetty.http2.frames.WindowUpdateFrame;
import org.eclipse.jetty.http2.parser.Parser;
import org.eclipse.jetty.io.ByteBufferPool;
import org.eclipse.jetty.io.RateControl;

/**
 * The server side of one HTTP/2 connection, without a socket: bytes from the client go in through {@link #feed},
 * bytes for it come out of {@link #output}. Frames and HPACK are Jetty's ({@code jetty-http2-common}); this holds
 * what Jetty's parser leaves to a session: the stream states, both directions' flow control, the request rules of
 * RFC 9113 §8, and the defences against peers that cost work without asking for anything. Every violation is
 * counted and answered with RST_STREAM (one stream) or GOAWAY (the connection, which is then {@link #closed}).
 *
 * <p>Not thread-safe: one event loop owns it.
 */
public final class H2ServerConnection extends H2Connection {
  /** What the engine hears of the connection's streams. Called from inside {@link #feed} and the send calls. */
  public interface Handler {
    /** A new stream's request; its body (if any) follows through {@link #body} as {@link #bodyArrived} says. */
    void request(H2Request request);

    /** Body bytes (or the end of the body) arrived for the stream: take them with {@link #body}. */
    void bodyArrived(int streamId);

    /** The request's trailers, which end its body. */
    void trailers(int streamId, HeaderFields trailers);

    /** The stream ended early: the client reset it, or Fulcrum did over a violation. */
    void reset(int streamId, int errorCode);

    /** The windows opened for a stream whose last {@link #data} call was cut short. */
    void writable(int streamId);

    /** The client sent GOAWAY: no new streams will come. */
    default void goingAway() {}
  }

  /** Where violations are counted. */
  public interface Observer {
    Observer NONE = v -> {};

    void violation(Violation violation);
  }

  private static final int MAX_RECENTLY_CLOSED = 256;

  private final Handler handler;
  private final Observer observer;
  private final Parser parser;
  private final AuthorityGuard authorities;
  /** How many bytes of the client preface arrived; the first frame after it must be SETTINGS. */
  private int prefaceMatched;
  private boolean settingsReceived;
  private static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);
  /** Streams closed lately, newest last; negative ids are those Fulcrum reset, whose late frames are dropped. */
  private final int[] recentlyClosed = new int[MAX_RECENTLY_CLOSED];
  private int recentlyClosedCount;
  private int lastStreamId;
  private final RateWindow resets;
  private final RateWindow windowUpdates;
  private boolean goAwaySent;
  private boolean goAwayReceived;

  public H2ServerConnection(H2Settings settings, Handler handler, Observer observer, LongSupplier clock) {
    super(settings, clock);
    this.handler = handler;
    this.observer = observer;
    this.resets = new RateWindow(settings.maxResetsPerSecond());
    this.windowUpdates = new RateWindow(settings.maxControlFramesPerSecond() * 10);
    // the decoder's own bound is twice the listener's: between the two a request gets its 431, past it the
    // connection ends before more is decoded (a header block that inflates is stopped as it inflates)
    // Jetty's ServerParser also checks the preface, but fails a client SETTINGS frame split across reads: the
    // preface is matched here and the plain frame parser takes everything after it
    this.parser = new Parser(ByteBufferPool.NON_POOLING, settings.maxHeaderListSize() * 2, new Continuations());
    this.parser.init(new Frames());
    this.authorities = AuthorityGuard.install(parser.getHpackDecoder());
    this.parser.setMaxFrameSize(settings.maxFrameSize());
    Map<Integer, Integer> ours = new HashMap<>();
    ours.put(SettingsFrame.MAX_CONCURRENT_STREAMS, settings.maxConcurrentStreams());
    sendSettings(ours);
  }

  // --- input

  /** Parses what the client sent (any split: a frame may arrive a byte at a time). */
  public void feed(ByteBuffer in) {
    while (prefaceMatched < PREFACE.length && in.hasRemaining() && !closed) {
      if (in.get() != PREFACE[prefaceMatched++]) {
        fail(ErrorCode.PROTOCOL_ERROR, Violation.BAD_PREFACE, "invalid_preface");
      }
    }
    while (in.hasRemaining() && !closed) {
      int before = in.position();
      parser.parse(in);
      if (in.position() == before) break;
    }
    if (closed) in.position(in.limit());
  }

  /** The engine took {@code n} body bytes (moved them on): the client may send as many again. */
  public void consumed(int streamId, int n) {
    H2Stream stream = streams.get(streamId);
    if (stream != null) {
      if (stream.body != null && !stream.body.hasRemaining()) stream.body = null;
      if (stream.state.remoteOpen()) acknowledge(stream, n);
    }
    creditConnection(n);
  }

  // --- output

  public boolean hasOutput() {
    return output.bytes().hasRemaining();
  }

  /** Whether the client reads too slowly for more response bytes to be taken now (engines stop reading backends). */
  public boolean outputFull() {
    return output.bytes().remaining() >= settings.maxOutputBytes() / 2;
  }

  /** Sends a stream's response head; {@code endStream} when no body follows. */
  public void respond(int streamId, int status, HeaderView headers, boolean endStream) {
    H2Stream stream = streams.get(streamId);
    if (stream == null || !stream.state.localOpen()) return;
    HttpFields.Mutable fields = HttpFields.build(headers.size());
    for (int i = 0; i < headers.size(); i++) {
      if (!connectionSpecific(headers.name(i))) fields.add(headers.name(i), headers.value(i));
    }
    control(new HeadersFrame(streamId, new MetaData.Response(status, null, HttpVersion.HTTP_2, fields), null, endStream));
    if (endStream) localEnd(stream);
  }

  /** Ends the stream with trailers (gRPC's status travels in them). */
  public void trailers(int streamId, HeaderView trailers) {
    H2Stream stream = streams.get(streamId);
    if (stream == null || !stream.state.localOpen()) return;
    HttpFields.Mutable fields = HttpFields.build(trailers.size());
    for (int i = 0; i < trailers.size(); i++) {
      if (!connectionSpecific(trailers.name(i))) fields.add(trailers.name(i), trailers.value(i));
    }
    control(new HeadersFrame(streamId, new MetaData(HttpVersion.HTTP_2, fields), null, true));
    localEnd(stream);
  }

  /** Ends a stream from Fulcrum's side (the backend broke off, or the exchange was cancelled). */
  public void reset(int streamId, ErrorCode error) {
    H2Stream stream = streams.get(streamId);
    if (stream == null) return;
    control(new ResetFrame(streamId, error.code));
    close(stream, true);
  }

  /** Tells the client no new streams will be taken; the ones under way go on (a graceful drain). */
  public void goAway() {
    if (goAwaySent || closed) return;
    goAwaySent = true;
    control(new GoAwayFrame(lastStreamId, ErrorCode.NO_ERROR.code, null));
  }

  /** Whether either side said GOAWAY: once no stream is active, the connection may close. */
  public boolean goingAway() {
    return goAwaySent || goAwayReceived;
  }

  // --- frames

  private final class Frames implements Parser.Listener {
    /** RFC 9113 §3.4: the preface ends with a SETTINGS frame; anything else first is a bad preface. */
    private boolean afterSettings() {
      if (settingsReceived) return true;
      fail(ErrorCode.PROTOCOL_ERROR, Violation.BAD_PREFACE, "the preface is not followed by SETTINGS");
      return false;
    }

    @Override
    public void onSettings(SettingsFrame frame) {
      if (frame.isReply() && !afterSettings()) return;
      if (frame.isReply()) return;
      settingsReceived = true;
      if (!controlFrames.allow(clock.getAsLong())) {
        fail(ErrorCode.ENHANCE_YOUR_CALM_ERROR, Violation.CONTROL_FLOOD, "too many SETTINGS frames");
        return;
      }
      for (Map.Entry<Integer, Integer> e : frame.getSettings().entrySet()) {
        if (!apply(e.getKey(), e.getValue())) return;
      }
      control(new SettingsFrame(Map.of(), true));
    }

    @Override
    public void onPing(PingFrame frame) {
      if (!afterSettings()) return;
      ping(frame);
    }

    @Override
    public void onPriority(PriorityFrame frame) {
      if (!afterSettings()) return;
      // priorities are advisory (RFC 9113 §5.3.2 deprecates them): only counted
      if (!controlFrames.allow(clock.getAsLong())) {
        fail(ErrorCode.ENHANCE_YOUR_CALM_ERROR, Violation.CONTROL_FLOOD, "too many PRIORITY frames");
      }
    }

    @Override
    public void onHeaders(HeadersFrame frame) {
      if (!afterSettings()) return;
      headers(frame.getStreamId(), frame.getMetaData(), frame.isEndStream());
    }

    @Override
    public void onData(DataFrame frame) {
      if (!afterSettings()) return;
      H2ServerConnection.this.data(frame);
    }

    @Override
    public void onReset(ResetFrame frame) {
      if (!afterSettings()) return;
      int id = frame.getStreamId();
      H2Stream stream = streams.get(id);
      if (stream == null) {
        if (idle(id)) fail(ErrorCode.PROTOCOL_ERROR, Violation.IDLE_STREAM, "RST_STREAM on idle stream " + id);
        return;
      }
      if (!resets.allow(clock.getAsLong())) {
        fail(ErrorCode.ENHANCE_YOUR_CALM_ERROR, Violation.RAPID_RESET, "streams reset faster than allowed");
        return;
      }
      close(stream, false);
      handler.reset(id, frame.getError());
    }

    @Override
    public void onWindowUpdate(WindowUpdateFrame frame) {
      if (!afterSettings()) return;
      windowUpdate(frame.getStreamId(), frame.getWindowDelta());
    }

    @Override
    public void onPushPromise(PushPromiseFrame frame) {
      if (!afterSettings()) return;
      fail(ErrorCode.PROTOCOL_ERROR, Violation.PROTOCOL, "a client may not send PUSH_PROMISE");
    }

    @Override
    public void onGoAway(GoAwayFrame frame) {
      if (!afterSettings()) return;
      goAwayReceived = true;
      handler.goingAway();
    }

    @Override
    public void onStreamFailure(int streamId, int error, String reason) {
      if (!afterSettings()) return;
      if (!controlFrames.allow(clock.getAsLong())) {
        fail(ErrorCode.ENHANCE_YOUR_CALM_ERROR, Violation.CONTROL_FLOOD, "too many malformed streams");
        return;
      }
      H2Stream stream = streams.get(streamId);
      observer.violation(Violation.MALFORMED_HEADERS);
      if (stream == null && streamId > lastStreamId) lastStreamId = streamId;
      control(new ResetFrame(streamId, error));
      if (stream != null) {
        close(stream, true);
        handler.reset(streamId, error);
      } else {
        remember(streamId, true);
      }
    }

    @Override
    public void onConnectionFailure(int error, String reason) {
      // RFC 9113 §6.1: padding as long as the frame is a PROTOCOL_ERROR (Jetty says FRAME_SIZE_ERROR)
      ErrorCode code = reason != null && reason.endsWith("_padding") ? ErrorCode.PROTOCOL_ERROR : ErrorCode.from(error);
      fail(code == null ? ErrorCode.PROTOCOL_ERROR : code, classify(error, reason), reason);
    }
  }

  /** Counts CONTINUATION frames, the only frames the parser does not show one by one. */
  private final class Continuations implements RateControl {
    @Override
    public boolean onEvent(Object event) {
      if (!(event instanceof ContinuationFrame)) return true;
      boolean allowed = controlFrames.allow(clock.getAsLong());
      if (!allowed) observer.violation(Violation.CONTINUATION_FLOOD);
      return allowed;
    }
  }

  private static Violation classify(int error, String reason) {
    if (reason != null && reason.contains("preface")) return Violation.BAD_PREFACE;
    if (error == ErrorCode.ENHANCE_YOUR_CALM_ERROR.code) return Violation.CONTINUATION_FLOOD;
    if (error == ErrorCode.COMPRESSION_ERROR.code) return Violation.HPACK;
    if (reason != null && reason.contains("hpack")) return Violation.HPACK;
    if (reason != null && reason.contains("continuation")) return Violation.CONTINUATION_FLOOD;
    if (error == ErrorCode.FLOW_CONTROL_ERROR.code) return Violation.FLOW_CONTROL;
    return Violation.PROTOCOL;
  }

  private boolean apply(int key, int value) {
    switch (key) {
      case SettingsFrame.HEADER_TABLE_SIZE -> {
        generator.getHpackEncoder().setMaxTableCapacity(value);
        generator.getHpackEncoder().setTableCapacity(Math.min(value, 4096));
      }
      case SettingsFrame.ENABLE_PUSH -> {
        if (value != 0 && value != 1) {
          return fail(ErrorCode.PROTOCOL_ERROR, Violation.PROTOCOL, "SETTINGS_ENABLE_PUSH must be 0 or 1");
        }
      }
      case SettingsFrame.INITIAL_WINDOW_SIZE -> {
        if (!applyPeerInitialWindow(value)) return false;
      }
      case SettingsFrame.MAX_FRAME_SIZE -> {
        if (value < 16_384 || value > 16_777_215) {
          return fail(ErrorCode.PROTOCOL_ERROR, Violation.PROTOCOL, "SETTINGS_MAX_FRAME_SIZE out of range");
        }
        generator.setMaxFrameSize(value);
      }
      default -> {} // unknown settings are ignored (RFC 9113 §6.5.2)
    }
    return true;
  }

  private void headers(int id, MetaData metaData, boolean endStream) {
    String refusedAuthority = authorities.takeRefused();
    if ((id & 1) == 0) {
      fail(ErrorCode.PROTOCOL_ERROR, Violation.PROTOCOL, "a client stream with an even id " + id);
      return;
    }
    H2Stream stream = streams.get(id);
    if (stream != null) {
      trailers(stream, metaData, endStream);
      return;
    }
    if (id <= lastStreamId) {
      int closedBy = closedBy(id);
      if (closedBy < 0) return; // Fulcrum reset it: frames in flight are dropped
      if (closedBy > 0) fail(ErrorCode.STREAM_CLOSED_ERROR, Violation.CLOSED_STREAM, "HEADERS on closed stream " + id);
      else fail(ErrorCode.PROTOCOL_ERROR, Violation.PROTOCOL, "stream " + id + " is lower than one already opened");
      return;
    }
    lastStreamId = id;
    if (goAwaySent) {
      // RFC 9113 §6.8: streams after the GOAWAY are ignored; refusing tells the client to retry elsewhere
      refuse(id, ErrorCode.REFUSED_STREAM_ERROR);
      return;
    }
    if (streams.size() >= settings.maxConcurrentStreams()) {
      observer.violation(Violation.TOO_MANY_STREAMS);
      refuse(id, ErrorCode.REFUSED_STREAM_ERROR);
      return;
    }
    if (!(metaData instanceof MetaData.Request request) || metaData instanceof MetaData.ConnectRequest) {
      malformed(id, null, Violation.MALFORMED_HEADERS);
      return;
    }
    H2Request translated = translate(id, request, endStream, refusedAuthority);
    if (translated == null) {
      malformed(id, null, Violation.MALFORMED_HEADERS);
      return;
    }
    stream = new H2Stream(id, settings.streamWindow(), peerInitialWindow);
    stream.declaredLength = translated.contentLength();
    streams.put(id, stream);
    if (endStream) stream.state = stream.state.remoteEnded();
    if (translated.problem() != null) {
      observer.violation(translated.problem().kind() == WireError.Kind.FIELDS_TOO_LARGE
          ? Violation.FIELDS_TOO_LARGE : Violation.MALFORMED_HEADERS);
    }
    handler.request(translated);
  }

  /** The request for the proxy, or null when it is malformed. */
  private H2Request translate(int id, MetaData.Request request, boolean endStream, String refusedAuthority) {
    HttpURI uri = request.getHttpURI();
    String path = uri.getPathQuery();
    String method = request.getMethod();
    if (path == null || !(path.startsWith("/") || (path.equals("*") && method.equals("OPTIONS")))) return null;
    if (request.getProtocol() != null) return null; // extended CONNECT is not offered
    String scheme = uri.getScheme();
    String authority = uri.getAuthority();
    HttpFields fields = request.getHttpFields();
    HeaderFields headers = new HeaderFields(fields.size() + 1);
    StringBuilder cookies = null;
    String host = null;
    long contentLength = -1;
    long size = 0;
    for (HttpField field : fields) {
      String name = field.getName();
      String value = field.getValue() == null ? "" : field.getValue();
      size += name.length() + value.length() + 32;
      if (H2Fields.problem(name, value) != null) return null;
      switch (name) {
        case "cookie" -> {
          // RFC 9113 §8.2.3: crumbs are joined into one field for an HTTP/1.1 backend
          if (cookies == null) cookies = new StringBuilder(value);
          else cookies.append("; ").append(value);
        }
        case "host" -> {
          if (host != null) return null;
          host = value;
        }
        case "content-length" -> {
          long n = H2Fields.contentLength(value);
          if (n < 0 || (contentLength >= 0 && n != contentLength)) return null;
          contentLength = n;
          headers.add(name, value);
        }
        default -> headers.add(name, value);
      }
    }
    // RFC 9113 §8.3.1: a Host that names another authority than :authority is refused, not chosen between
    if (authority != null && host != null && !authority.equalsIgnoreCase(host)) return null;
    if (authority == null) authority = host;
    if (authority == null && refusedAuthority == null && !"*".equals(path)) return null;
    if (authority != null) headers.add("host", authority);
    if (cookies != null) headers.add("cookie", cookies.toString());
    if (endStream && contentLength > 0) return null;
    for (int i = 0; i < path.length(); i++) {
      char c = path.charAt(i);
      if (c <= ' ' || c == 0x7f) return null;
    }
    // RFC 9113 §8.3.1, §8.1.1: a malformed authority fails this stream only, with HTTP/1.1's 400 for a bad Host
    String hostProblem = authority == null ? null : HttpHeads.hostProblem(authority);
    WireError problem = refusedAuthority != null
        ? WireError.malformed("the :authority '" + H2Fields.printable(refusedAuthority) + "' is not a host and port")
        : hostProblem != null
        ? WireError.malformed(hostProblem + " in the " + (host == null ? ":authority" : "Host header"))
        : size > settings.maxHeaderListSize()
        ? new WireError(WireError.Kind.FIELDS_TOO_LARGE,
            "the request's header list is larger than the limit of " + settings.maxHeaderListSize() + " bytes")
        : null;
    return new H2Request(id, method, scheme, authority, path, headers, contentLength, endStream, problem);
  }

  private void trailers(H2Stream stream, MetaData metaData, boolean endStream) {
    if (!stream.state.remoteOpen()) {
      streamError(stream, ErrorCode.STREAM_CLOSED_ERROR, Violation.CLOSED_STREAM);
      return;
    }
    if (!endStream || metaData instanceof MetaData.Request || metaData instanceof MetaData.Response) {
      malformed(stream.id, stream, Violation.MALFORMED_HEADERS);
      return;
    }
    HeaderFields trailers = new HeaderFields(metaData.getHttpFields().size());
    for (HttpField field : metaData.getHttpFields()) {
      String value = field.getValue() == null ? "" : field.getValue();
      if (H2Fields.problem(field.getName(), value) != null) {
        malformed(stream.id, stream, Violation.MALFORMED_HEADERS);
        return;
      }
      trailers.add(field.getName(), value);
    }
    if (stream.declaredLength >= 0 && stream.received != stream.declaredLength) {
      malformed(stream.id, stream, Violation.CONTENT_LENGTH);
      return;
    }
    remoteEnd(stream);
    handler.trailers(stream.id, trailers);
  }

  private void data(DataFrame frame) {
    int id = frame.getStreamId();
    int length = frame.flowControlLength();
    connectionReceiveWindow -= length;
    if (connectionReceiveWindow < 0) {
      fail(ErrorCode.FLOW_CONTROL_ERROR, Violation.FLOW_CONTROL, "DATA beyond the connection window");
      return;
    }
    H2Stream stream = streams.get(id);
    if (stream == null) {
      if (idle(id)) {
        fail(ErrorCode.PROTOCOL_ERROR, Violation.IDLE_STREAM, "DATA on idle stream " + id);
        return;
      }
      int closedBy = closedBy(id);
      if (closedBy > 0) {
        fail(ErrorCode.STREAM_CLOSED_ERROR, Violation.CLOSED_STREAM, "DATA on closed stream " + id);
        return;
      }
      creditConnection(length); // in flight when Fulcrum reset the stream
      return;
    }
    if (!stream.state.remoteOpen()) {
      creditConnection(length);
      streamError(stream, ErrorCode.STREAM_CLOSED_ERROR, Violation.CLOSED_STREAM);
      return;
    }
    stream.receiveWindow -= length;
    if (stream.receiveWindow < 0) {
      creditConnection(length);
      streamError(stream, ErrorCode.FLOW_CONTROL_ERROR, Violation.FLOW_CONTROL);
      return;
    }
    ByteBuffer bytes = frame.getByteBuffer();
    int n = bytes.remaining();
    if (n == 0 && !frame.isEndStream() && !controlFrames.allow(clock.getAsLong())) {
      fail(ErrorCode.ENHANCE_YOUR_CALM_ERROR, Violation.CONTROL_FLOOD, "too many empty DATA frames");
      return;
    }
    if (length > n) creditConnection(length - n); // padding is nobody's to consume
    stream.received += n;
    if (stream.declaredLength >= 0 && (stream.received > stream.declaredLength
        || (frame.isEndStream() && stream.received != stream.declaredLength))) {
      malformed(id, stream, Violation.CONTENT_LENGTH);
      return;
    }
    if (stream.discarding) {
      if (n > 0) consumed(id, n);
      if (frame.isEndStream()) remoteEnd(stream);
      return;
    }
    stream.buffer(bytes, settings.streamWindow());
    if (frame.isEndStream()) remoteEnd(stream);
    if (n > 0 || frame.isEndStream()) handler.bodyArrived(id);
  }

  private void windowUpdate(int id, int delta) {
    if (!windowUpdates.allow(clock.getAsLong())) {
      fail(ErrorCode.ENHANCE_YOUR_CALM_ERROR, Violation.CONTROL_FLOOD, "too many WINDOW_UPDATE frames");
      return;
    }
    if (id == 0) {
      connectionWindowUpdate(delta);
      return;
    }
    H2Stream stream = streams.get(id);
    if (stream == null) {
      if (idle(id)) fail(ErrorCode.PROTOCOL_ERROR, Violation.IDLE_STREAM, "WINDOW_UPDATE on idle stream " + id);
      return;
    }
    streamWindowUpdate(stream, delta);
  }

  @Override
  void writable(int streamId) {
    handler.writable(streamId);
  }

  // --- stream and connection ends

  private boolean idle(int id) {
    return id > lastStreamId;
  }

  /** 1 when the peer's frames closed the stream lately, -1 when Fulcrum reset it, 0 when not remembered. */
  private int closedBy(int id) {
    for (int i = 0; i < recentlyClosedCount; i++) {
      int v = recentlyClosed[i];
      if (v == id) return 1;
      if (v == -id) return -1;
    }
    return 0;
  }

  private void remember(int id, boolean resetByUs) {
    if (recentlyClosedCount == MAX_RECENTLY_CLOSED) {
      System.arraycopy(recentlyClosed, 1, recentlyClosed, 0, MAX_RECENTLY_CLOSED - 1);
      recentlyClosedCount--;
    }
    recentlyClosed[recentlyClosedCount++] = resetByUs ? -id : id;
  }

  private void refuse(int id, ErrorCode error) {
    control(new ResetFrame(id, error.code));
    remember(id, true);
  }

  private void malformed(int id, H2Stream stream, Violation violation) {
    if (stream == null) {
      observer.violation(violation);
      refuse(id, ErrorCode.PROTOCOL_ERROR);
    } else {
      streamError(stream, ErrorCode.PROTOCOL_ERROR, violation);
    }
  }

  @Override
  void streamError(H2Stream stream, ErrorCode error, Violation violation) {
    observer.violation(violation);
    control(new ResetFrame(stream.id, error.code));
    close(stream, true);
    handler.reset(stream.id, error.code);
  }

  private void remoteEnd(H2Stream stream) {
    stream.state = stream.state.remoteEnded();
    if (stream.state == StreamState.CLOSED) close(stream, false);
  }

  @Override
  void localEnd(H2Stream stream) {
    stream.state = stream.state.localEnded();
    if (stream.state == StreamState.CLOSED) {
      close(stream, false);
      return;
    }
    // the response is complete before the request (a backend that answered without reading the whole body; an answer
    // of Fulcrum's own): the exchange reads no more of the body, so it is dropped as it comes and its windows given
    // back, or the client would wait on a window no one opens. Not RFC 9113 §8.1's RST_STREAM(NO_ERROR): curl before
    // 8.x takes it for an error and shows no response at all
    stream.discarding = true;
    if (stream.body != null && stream.body.hasRemaining()) {
      int buffered = stream.body.remaining();
      stream.body = null;
      consumed(stream.id, buffered);
    }
  }

  private void close(H2Stream stream, boolean resetByUs) {
    stream.state = StreamState.CLOSED;
    if (streams.remove(stream.id) == null) return;
    // body bytes never taken still count against the connection window: give them back
    if (stream.body != null && stream.body.hasRemaining()) creditConnection(stream.body.remaining());
    stream.body = null;
    remember(stream.id, resetByUs);
  }

  /** A connection error: GOAWAY with the code, counted, and the connection is over. Returns false for callers. */
  @Override
  boolean fail(ErrorCode error, Violation violation, String reason) {
    if (closed) return false;
    observer.violation(violation);
    byte[] debug = reason == null ? null : reason.getBytes(StandardCharsets.UTF_8);
    control(new GoAwayFrame(lastStreamId, error.code, debug));
    goAwaySent = true;
    closed = true;
    closeReason = error + ": " + reason;
    for (H2Stream stream : streams.values().toArray(H2Stream[]::new)) {
      streams.remove(stream.id);
      handler.reset(stream.id, error.code);
    }
    return false;
  }

  private static boolean connectionSpecific(String name) {
    return name.equalsIgnoreCase("connection") || name.equalsIgnoreCase("keep-alive")
        || name.equalsIgnoreCase("proxy-connection") || name.equalsIgnoreCase("transfer-encoding")
        || name.equalsIgnoreCase("upgrade");
  }

  @Override
  void control(Frame frame) {
    super.control(frame);
    if (output.bytes().remaining() > settings.maxOutputBytes() && !closed) {
      // the client sends PINGs or SETTINGS but never reads the answers
      observer.violation(Violation.OUTPUT_OVERFLOW);
      closed = true;
      closeReason = "the client does not read what it asks for";
    }
  }
}
