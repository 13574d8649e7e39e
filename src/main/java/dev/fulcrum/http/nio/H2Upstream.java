package dev.fulcrum.http.nio;

import dev.fulcrum.Failures;
import dev.fulcrum.http.h2.H2ClientConnection;
import dev.fulcrum.http.h2.H2Settings;
import dev.fulcrum.http.wire.HeaderFields;
import dev.fulcrum.http.wire.HeaderView;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.util.HashMap;
import java.util.Map;
import org.eclipse.jetty.http2.ErrorCode;

/**
 * One HTTP/2 connection of the nio engine to a backend of a pool with {@code protocol = h2 | h2c}: the frames are
 * {@link H2ClientConnection}'s, the socket an {@link UpstreamConnection} from the loop's pool (connected, TLS done),
 * and each stream one client request's, from whichever client connection of the loop. Response bodies are held only
 * as far as the stream windows Fulcrum grants, which open again as the client takes them.
 */
final class H2Upstream implements UpstreamConnection.User, H2ClientConnection.Handler {
  /** What a request's exchange hears of its stream. */
  interface Stream {
    void response(int status, HeaderFields headers, boolean endStream);

    void bodyArrived();

    void trailers(HeaderFields trailers);

    /** The backend reset the stream ({@code errorCode}), or the connection ended under it ({@code reason}). */
    void reset(int errorCode, String reason);

    /** The backend's windows opened: more of the request body may go. */
    void writable();
  }

  /** Windows for responses: a stream holds at most 256 KiB a slow client has not taken, a connection 1 MiB. */
  static final H2Settings SETTINGS = new H2Settings(100, 256 << 10, 1 << 20, 16_384, 65_536, 1_000, 200, 4 << 20);

  private final H2Upstreams owner;
  private final UpstreamConnection socket;
  private final H2ClientConnection h2;
  private final int maxStreams;
  private final Map<Integer, Stream> streams = new HashMap<>();
  private boolean dead;
  private long idleSince;

  H2Upstream(H2Upstreams owner, UpstreamConnection socket, int maxStreams) {
    this.owner = owner;
    this.socket = socket;
    this.maxStreams = maxStreams;
    this.h2 = new H2ClientConnection(SETTINGS, this, socket.loop::now);
    this.idleSince = socket.loop.now();
    socket.lend(this);
    flush();
  }

  UpstreamPool.Target target() {
    return socket.target();
  }

  H2ClientConnection frames() {
    return h2;
  }

  /** Whether a request may open a stream now: ours and the backend's stream limits, no GOAWAY. */
  boolean canOpen() {
    return !dead && h2.canOpen() && streams.size() < maxStreams;
  }

  boolean idle() {
    return streams.isEmpty();
  }

  long idleSince() {
    return idleSince;
  }

  /** Opens a stream for a request; its id ({@link #canOpen} was true). */
  int open(Stream stream, String method, String scheme, String authority, String path, HeaderView headers,
      boolean endStream) {
    int id = h2.open(method, scheme, authority, path, headers, endStream);
    if (id > 0) streams.put(id, stream);
    return id;
  }

  /** The exchange is done with its stream (ended both ways, or reset): the slot may serve another request. */
  void release(int id) {
    if (streams.remove(id) == null) return;
    if (streams.isEmpty()) idleSince = socket.loop.now();
    owner.streamFreed(this);
  }

  /** The client went away or its deadline passed: the backend hears RST_STREAM(CANCEL). */
  void cancel(int id) {
    h2.reset(id, ErrorCode.CANCEL_STREAM_ERROR);
    release(id);
    flush();
  }

  /** Writes what the frames produced; a connection that failed or was told GOAWAY closes once it carries nothing. */
  void flush() {
    if (dead) return;
    ByteBuffer out = h2.output();
    try {
      while (out.hasRemaining() || socket.transport().writePending()) {
        int before = out.remaining();
        socket.write(out);
        if (socket.transport().writePending() || out.remaining() == before) break;
      }
    } catch (IOException e) {
      lost(Failures.describe(e));
      return;
    }
    if (h2.closed() || (h2.goingAway() && streams.isEmpty())) {
      lost(h2.closed() ? "HTTP/2 connection failed: " + h2.closeReason() : "the backend sent GOAWAY");
      return;
    }
    socket.interest(!socket.inputEnded(), out.hasRemaining() || socket.transport().writePending());
  }

  /** Closes the connection: streams still on it end as reset. */
  void close(String reason) {
    lost(reason);
  }

  private void lost(String reason) {
    if (dead) return;
    dead = true;
    Stream[] left = streams.values().toArray(Stream[]::new);
    streams.clear();
    owner.closed(this, socket);
    for (Stream s : left) s.reset(ErrorCode.REFUSED_STREAM_ERROR.code, reason);
  }

  // --- socket events

  @Override
  public void backendReady(int readyOps) {
    if ((readyOps & SelectionKey.OP_READ) != 0) readable();
    flush();
  }

  @Override
  public void backendAborted(Throwable cause) {
    lost(Failures.describe(cause));
  }

  private void readable() {
    while (true) {
      int n;
      try {
        n = socket.read();
      } catch (IOException e) {
        lost(Failures.describe(e));
        return;
      }
      int held = socket.unconsumed();
      if (held > 0) {
        socket.parseHead(held, (buf, from, to) -> {
          h2.feed(buf.duplicate().limit(to).position(from));
          return null;
        });
        if (!dead) socket.consumeAll();
      }
      if (n < 0 && !dead) lost("the backend closed the connection");
      // a read that filled the buffer may have left decrypted records inside TLS, which no selector event announces:
      // read on once the frames are taken (a server stream over h2 stalled here until its deadline)
      if (dead || n <= 0 || !socket.transport().mayHoldInput()) return;
    }
  }

  // --- frames

  @Override
  public void response(int streamId, int status, HeaderFields headers, boolean endStream) {
    Stream s = streams.get(streamId);
    if (s != null) s.response(status, headers, endStream);
  }

  @Override
  public void bodyArrived(int streamId) {
    Stream s = streams.get(streamId);
    if (s != null) s.bodyArrived();
  }

  @Override
  public void trailers(int streamId, HeaderFields trailers) {
    Stream s = streams.get(streamId);
    if (s != null) s.trailers(trailers);
  }

  @Override
  public void reset(int streamId, int errorCode) {
    Stream s = streams.remove(streamId);
    if (s == null) return;
    if (streams.isEmpty()) idleSince = socket.loop.now();
    owner.streamFreed(this);
    s.reset(errorCode, "the backend reset the stream (" + ErrorCode.toString(errorCode, "error " + errorCode) + ")");
  }

  @Override
  public void writable(int streamId) {
    Stream s = streams.get(streamId);
    if (s != null) s.writable();
  }

  @Override
  public void goingAway(int lastStreamId) {
    owner.streamFreed(this);
  }
}
