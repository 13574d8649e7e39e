package dev.fulcrum.http.h2;

import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;
import java.util.function.LongSupplier;
import org.eclipse.jetty.http2.ErrorCode;
import org.eclipse.jetty.http2.frames.DataFrame;
import org.eclipse.jetty.http2.frames.Frame;
import org.eclipse.jetty.http2.frames.PingFrame;
import org.eclipse.jetty.http2.frames.SettingsFrame;
import org.eclipse.jetty.http2.frames.WindowUpdateFrame;
import org.eclipse.jetty.http2.generator.Generator;

/**
 * What both ends of an HTTP/2 connection do alike, whichever side Fulcrum is on: its streams, flow control both ways
 * (RFC 9113 §5.2, §6.9), PING answers (§6.7) and the frame output. {@link H2ServerConnection} adds the request rules
 * and the defences against clients, {@link H2ClientConnection} the opening of streams to a backend; each says how
 * a stream ends on its side and what becomes of an error.
 *
 * <p>Not thread-safe: one event loop owns it.
 */
abstract sealed class H2Connection permits H2ClientConnection, H2ServerConnection {
  final H2Settings settings;
  final LongSupplier clock;
  final FrameOutput output = new FrameOutput();
  final Generator generator = new Generator(output.pool());
  final Map<Integer, H2Stream> streams = new HashMap<>();
  /** SETTINGS, PING and the like: a peer may not make Fulcrum answer them without bound. */
  final RateWindow controlFrames;
  int peerInitialWindow = H2Settings.DEFAULT_WINDOW;
  long connectionSendWindow = H2Settings.DEFAULT_WINDOW;
  int connectionReceiveWindow;
  int connectionUnacknowledged;
  boolean closed;
  String closeReason;

  H2Connection(H2Settings settings, LongSupplier clock) {
    this.settings = settings;
    this.clock = clock;
    this.controlFrames = new RateWindow(settings.maxControlFramesPerSecond());
    this.connectionReceiveWindow = settings.connectionWindow();
  }

  // --- what each side decides

  /** The local side ended the stream (its last frame went). */
  abstract void localEnd(H2Stream stream);

  /** The windows opened for a stream whose last {@link #data} call was cut short: its handler hears of it. */
  abstract void writable(int streamId);

  /** A connection error: GOAWAY with the code, and the connection is over. Returns false, for callers to return. */
  abstract boolean fail(ErrorCode error, Violation violation, String reason);

  /** A stream error: RST_STREAM with the code, and the stream is over. */
  abstract void streamError(H2Stream stream, ErrorCode error, Violation violation);

  // --- the preface

  /**
   * Sends Fulcrum's SETTINGS ({@code ours} and the windows and sizes of {@link H2Settings}), then raises the connection
   * window past its default, which only a WINDOW_UPDATE can do (RFC 9113 §6.9.2). Called by each side's constructor.
   */
  final void sendSettings(Map<Integer, Integer> ours) {
    ours.put(SettingsFrame.INITIAL_WINDOW_SIZE, settings.streamWindow());
    ours.put(SettingsFrame.MAX_FRAME_SIZE, settings.maxFrameSize());
    ours.put(SettingsFrame.MAX_HEADER_LIST_SIZE, settings.maxHeaderListSize());
    control(new SettingsFrame(ours, false));
    if (settings.connectionWindow() > H2Settings.DEFAULT_WINDOW) {
      control(new WindowUpdateFrame(0, settings.connectionWindow() - H2Settings.DEFAULT_WINDOW));
    }
  }

  // --- streams

  /** Streams under way. */
  public int activeStreams() {
    return streams.size();
  }

  /** The body bytes of a stream received and not yet taken, in flush mode (null when none); then {@code consumed}. */
  public ByteBuffer body(int streamId) {
    H2Stream stream = streams.get(streamId);
    return stream == null ? null : stream.body;
  }

  /** Whether the peer ended the stream's body (all of it has arrived). */
  public boolean bodyEnded(int streamId) {
    H2Stream stream = streams.get(streamId);
    return stream == null || !stream.state.remoteOpen();
  }

  /**
   * Sends what the windows allow of {@code data} on the stream; returns how many bytes were taken (the buffer's
   * position moves by as many). When cut short, the handler hears when to call again ({@link #writable}).
   * {@code endStream} ends the stream once all of {@code data} went.
   */
  public int data(int streamId, ByteBuffer data, boolean endStream) {
    H2Stream stream = streams.get(streamId);
    if (stream == null || !stream.state.localOpen()) {
      int n = data.remaining();
      data.position(data.limit());
      return n;
    }
    int total = 0;
    int maxFrame = generator.getMaxFrameSize();
    while (true) {
      int allowed = (int) Math.min(Math.min(connectionSendWindow, stream.sendWindow), data.remaining());
      if (allowed <= 0 && data.hasRemaining()) {
        stream.sendBlocked = true;
        return total;
      }
      int n = Math.min(allowed, maxFrame);
      boolean last = endStream && n == data.remaining();
      output.data(generator, new DataFrame(streamId, data.slice(data.position(), n), last), n);
      data.position(data.position() + n);
      total += n;
      connectionSendWindow -= n;
      stream.sendWindow -= n;
      if (last) {
        localEnd(stream);
        return total;
      }
      if (!data.hasRemaining()) return total;
    }
  }

  // --- flow control

  /** The engine took {@code n} of the stream's body bytes: the peer may send as many again on it. */
  final void acknowledge(H2Stream stream, int n) {
    stream.unacknowledged += n;
    // a window update per half window, as most implementations: fewer frames, the sender never stalls
    if (stream.unacknowledged >= settings.streamWindow() / 2) {
      control(new WindowUpdateFrame(stream.id, stream.unacknowledged));
      stream.receiveWindow += stream.unacknowledged;
      stream.unacknowledged = 0;
    }
  }

  /** {@code n} bytes counted against the connection window are gone (taken, dropped or padding): the peer may resend. */
  final void creditConnection(int n) {
    connectionUnacknowledged += n;
    if (connectionUnacknowledged >= settings.connectionWindow() / 2) {
      control(new WindowUpdateFrame(0, connectionUnacknowledged));
      connectionReceiveWindow += connectionUnacknowledged;
      connectionUnacknowledged = 0;
    }
  }

  /** The peer's WINDOW_UPDATE for the whole connection. */
  final void connectionWindowUpdate(int delta) {
    connectionSendWindow += delta;
    if (connectionSendWindow > H2Settings.MAX_WINDOW) {
      fail(ErrorCode.FLOW_CONTROL_ERROR, Violation.FLOW_CONTROL, "the connection window grew past 2^31-1");
      return;
    }
    wakeBlocked();
  }

  /** The peer's WINDOW_UPDATE for one stream. */
  final void streamWindowUpdate(H2Stream stream, int delta) {
    stream.sendWindow += delta;
    if (stream.sendWindow > H2Settings.MAX_WINDOW) {
      streamError(stream, ErrorCode.FLOW_CONTROL_ERROR, Violation.FLOW_CONTROL);
      return;
    }
    if (stream.sendBlocked && stream.sendWindow > 0 && connectionSendWindow > 0) {
      stream.sendBlocked = false;
      writable(stream.id);
    }
  }

  /**
   * The peer's SETTINGS_INITIAL_WINDOW_SIZE: every open stream's send window moves by the change (RFC 9113 §6.9.2),
   * and one past 2^31-1, like the value itself, is a connection error FLOW_CONTROL_ERROR. False once failed.
   */
  final boolean applyPeerInitialWindow(int value) {
    if (value < 0) return fail(ErrorCode.FLOW_CONTROL_ERROR, Violation.FLOW_CONTROL, "SETTINGS_INITIAL_WINDOW_SIZE over 2^31-1");
    long delta = (long) value - peerInitialWindow;
    peerInitialWindow = value;
    for (H2Stream stream : streams.values()) {
      stream.sendWindow += delta;
      if (stream.sendWindow > H2Settings.MAX_WINDOW) {
        return fail(ErrorCode.FLOW_CONTROL_ERROR, Violation.FLOW_CONTROL, "a stream window grew past 2^31-1");
      }
    }
    if (delta > 0) wakeBlocked();
    return true;
  }

  /** The connection window opened: the streams that wait for room hear of it while it lasts. */
  final void wakeBlocked() {
    if (connectionSendWindow <= 0) return;
    for (H2Stream stream : streams.values().toArray(H2Stream[]::new)) {
      if (stream.sendBlocked && stream.sendWindow > 0 && streams.containsKey(stream.id)) {
        stream.sendBlocked = false;
        writable(stream.id);
        if (connectionSendWindow <= 0 || closed) return;
      }
    }
  }

  // --- control frames

  /** A PING is answered, within the control frame rate: each answer is work the peer asked for at no cost. */
  final void ping(PingFrame frame) {
    if (frame.isReply()) return;
    if (!controlFrames.allow(clock.getAsLong())) {
      fail(ErrorCode.ENHANCE_YOUR_CALM_ERROR, Violation.CONTROL_FLOOD, "too many PING frames");
      return;
    }
    control(new PingFrame(frame.getPayload(), true));
  }

  void control(Frame frame) {
    output.control(generator, frame);
  }

  // --- output and end

  /** Bytes to write to the peer, in flush mode; the caller advances its position by what it wrote. */
  public ByteBuffer output() {
    return output.bytes();
  }

  /** Ended over a connection error: write what output is left (the GOAWAY), then close the socket. */
  public boolean closed() {
    return closed;
  }

  /** Why the connection ended, for the log; null while it has not. */
  public String closeReason() {
    return closeReason;
  }
}
