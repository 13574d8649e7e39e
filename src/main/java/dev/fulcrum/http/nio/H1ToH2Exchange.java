package dev.fulcrum.http.nio;

import dev.fulcrum.config.BackendProtocol;
import dev.fulcrum.http.h2.H2ClientConnection;
import dev.fulcrum.http.proxy.BackendFailure;
import dev.fulcrum.http.proxy.BackendSelection;
import dev.fulcrum.http.proxy.ExchangeLog;
import dev.fulcrum.http.proxy.ListenerPolicy;
import dev.fulcrum.http.proxy.ProxyError;
import dev.fulcrum.http.proxy.Route;
import dev.fulcrum.http.wire.BodyFraming;
import dev.fulcrum.http.wire.ChunkedScanner;
import dev.fulcrum.http.wire.ChunkedTrailers;
import dev.fulcrum.http.wire.HeadWriter;
import dev.fulcrum.http.wire.HeaderFields;
import dev.fulcrum.http.wire.RequestHead;
import dev.fulcrum.http.wire.RequestTarget;
import dev.fulcrum.routing.RoutedBackend;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * An HTTP/1.1 request carried on a stream of an HTTP/2 backend connection ({@link H2Upstream}), as RFC 9113 §8 says:
 * the head through the route's rules without connection-specific fields, {@code Host} as {@code :authority}, the body
 * taken out of its HTTP/1.1 framing into DATA (a chunked body's trailers as trailing HEADERS); the response head back
 * as HTTP/1.1, its body with the backend's Content-Length, else chunked (its trailers in the last chunk), else (an
 * HTTP/1.0 client) until close. Body bytes move only as the other side takes them: a slow side stalls its stream.
 */
final class H1ToH2Exchange implements ClientExchange, H2Upstreams.Waiter, H2Upstream.Stream {
  private static final ByteBuffer EMPTY = ByteBuffer.allocate(0);

  enum Phase { CONNECTING, SENDING, WAITING, RESPONDING, DONE }

  private final ClientConnection client;
  private final UpstreamPool pool;
  private final RequestHead head;
  private final Route route;
  /** The pool's protocol when the request came: it keeps it if the pool's changes meanwhile. */
  private final BackendProtocol protocol;
  private final String requestId;
  private final String path;
  private final String host;
  private final BackendAttempts attempts;
  private final HeaderFields headers;
  private final String backendPath;
  private final BodyFraming upFraming;
  private final ChunkedScanner upChunked;
  private final ChunkedTrailers upTrailers;
  private long upRemaining;
  private Phase phase = Phase.CONNECTING;
  private UpstreamPool.Target target;
  private H2Upstream upstream;
  private int upstreamId;
  private boolean upEnded;
  private boolean responseStarted;
  private long responseDeadline;
  private BodyFraming downFraming;
  private boolean keepClient;
  private HeaderFields responseTrailers;
  /** Response bytes for the client not written yet. */
  private ByteBuffer pending;
  private boolean downEnded;
  private boolean blocked;
  private long upBytes;
  private long downBytes;

  H1ToH2Exchange(ClientConnection client, ListenerPolicy policy, UpstreamPool pool, RequestHead head, Route route,
      BackendProtocol protocol, String requestId, RequestTarget target, String host) {
    this.client = client;
    this.pool = pool;
    this.head = head;
    this.route = route;
    this.protocol = protocol;
    this.requestId = requestId;
    this.path = target.path();
    this.host = host;
    this.attempts = new BackendAttempts(policy, route, client.log(), client.loop::now, requestId,
        !head.hasBody() && BackendSelection.idempotent(head.method()));
    this.headers = H2Translation.requestHeaders(head.headers(), route, client.forwarded(requestId, host));
    this.backendPath = route.backendPath(target) + target.query();
    this.upFraming = BodyFraming.of(head);
    this.upRemaining = head.contentLength();
    this.upChunked = upFraming == BodyFraming.CHUNKED ? new ChunkedScanner(policy.maxBodySize()) : null;
    this.upTrailers = upFraming == BodyFraming.CHUNKED ? new ChunkedTrailers() : null;
  }

  @Override
  public boolean start() {
    RoutedBackend first = attempts.select(client.address(), head.headers(), path);
    if (first == null) return false;
    attempt(first);
    return true;
  }

  private void attempt(RoutedBackend backend) {
    phase = Phase.CONNECTING;
    attempts.begin(backend);
    target = UpstreamPool.Target.of(backend, route.upstreamKey(backend, protocol), client.clientSocket());
    pool.h2().acquire(target, backend.stats(), this);
  }

  // --- from the backend pool

  @Override
  public void queued() {
    if (phase == Phase.CONNECTING) client.log().queued(client.loop.now());
  }

  @Override
  public void streamReady(H2Upstream connection) {
    if (phase != Phase.CONNECTING) return;
    client.log().connected(client.loop.now());
    String authority = host != null ? host : attempts.backend().address().toString();
    String scheme = target.key().tls() != null ? "https" : "http";
    boolean noBody = upFraming == BodyFraming.NONE;
    int id = connection.open(this, head.method(), scheme, authority, backendPath, headers, noBody);
    if (id < 0) {
      failed(new BackendFailure(BackendFailure.Kind.RESET, "no stream could be opened"), false);
      settle();
      return;
    }
    upstream = connection;
    upstreamId = id;
    upEnded = noBody;
    phase = Phase.SENDING;
    if (upEnded) waiting();
    pumpUpload();
    settle();
  }

  @Override
  public void acquireFailed(BackendFailure failure) {
    if (phase == Phase.CONNECTING) {
      failed(failure, false);
      settle();
    }
  }

  // --- from the client

  @Override
  public void clientReadable() {
    if (phase == Phase.DONE) return;
    if (client.inputEnded() && upFraming != BodyFraming.NONE && !upEnded && client.unconsumed() == 0) {
      // the client went away in the middle of its body
      abort();
      client.close();
      return;
    }
    pumpUpload();
    settle();
  }

  @Override
  public void clientWritable() {
    if (phase == Phase.RESPONDING) pumpDownload();
    settle();
  }

  @Override
  public boolean wantsClientWrite() {
    return blocked && phase == Phase.RESPONDING;
  }

  @Override
  public void sweep(long now) {
    if (phase == Phase.WAITING && !responseStarted && now - responseDeadline >= 0) {
      failed(new BackendFailure(BackendFailure.Kind.TIMEOUT, "response timeout"), false);
      settle();
    }
  }

  @Override
  public void abort() {
    if (phase == Phase.DONE) return;
    if (phase == Phase.CONNECTING && upstream == null && target != null) pool.h2().cancel(target, this);
    endAttempt();
    phase = Phase.DONE;
    logEnd(ExchangeLog.Termination.CLIENT_ABORT);
  }

  // --- request body: out of its HTTP/1.1 framing into DATA

  private void waiting() {
    if (phase == Phase.SENDING) {
      phase = Phase.WAITING;
      responseDeadline = client.loop.now() + route.upstream().responseTimeout().toNanos();
    }
  }

  private void pumpUpload() {
    if (upstream == null || upEnded || phase == Phase.DONE) return;
    H2ClientConnection frames = upstream.frames();
    while (!upEnded) {
      if (upFraming == BodyFraming.LENGTH) {
        int n = (int) Math.min(client.unconsumed(), upRemaining);
        if (n == 0) return;
        int taken = send(frames, n, n == upRemaining);
        upRemaining -= taken;
        if (taken < n) return; // the backend's windows are shut: writable() resumes
        if (upRemaining == 0) {
          upEnded = true;
          waiting();
        }
        continue;
      }
      if (!upChunked.inData()) {
        int end = client.scanFraming(upChunked);
        if (end < 0) {
          malformed(ProxyError.of(upChunked.error()));
          return;
        }
        upTrailers.framing(client.unconsumedView(end), upChunked.inData());
        client.consume(end);
        if (upChunked.done()) {
          HeaderFields trailers = upTrailers.trailers();
          if (trailers != null) frames.trailers(upstreamId, trailers);
          else frames.data(upstreamId, EMPTY, true);
          upEnded = true;
          waiting();
          return;
        }
        if (!upChunked.inData()) return;
      }
      int n = (int) Math.min(client.unconsumed(), upChunked.chunkLeft());
      if (n == 0) return;
      int taken = send(frames, n, false);
      upChunked.skipData(taken);
      if (taken < n) return;
    }
  }

  private int send(H2ClientConnection frames, int n, boolean last) {
    ByteBuffer view = client.unconsumedView(n);
    int before = view.position();
    frames.data(upstreamId, view, last);
    int taken = view.position() - before;
    client.consume(taken);
    upBytes += taken;
    return taken;
  }

  /** The client's body broke its framing or its size limit: the connection cannot be trusted any more. */
  private void malformed(ProxyError error) {
    if (!responseStarted) {
      endAttempt();
      phase = Phase.DONE;
      client.answer(error, requestId, true);
    } else {
      abort();
      client.close();
    }
  }

  // --- response, from the backend's stream

  @Override
  public void response(int status, HeaderFields fields, boolean endStream) {
    if (phase == Phase.DONE) return;
    responseStarted = true;
    attempts.responded(status);
    HeaderFields out = new HeaderFields(fields.size() + 4);
    route.responseHeaders(fields, requestId, out);
    String cookie = attempts.stickyCookie();
    if (cookie != null) out.add("Set-Cookie", cookie);
    boolean bodiless = head.method().equals("HEAD") || status == 204 || status == 304;
    if (endStream || bodiless) {
      downFraming = BodyFraming.NONE;
      if (!bodiless && out.get("content-length") == null) out.add("Content-Length", "0");
    } else if (fields.get("content-length") != null) {
      downFraming = BodyFraming.LENGTH;
    } else if (head.minorVersion() >= 1) {
      downFraming = BodyFraming.CHUNKED;
      out.add("Transfer-Encoding", "chunked");
    } else {
      downFraming = BodyFraming.UNTIL_CLOSE;
    }
    keepClient = head.keepAlive() && !client.draining() && upEnded && downFraming != BodyFraming.UNTIL_CLOSE;
    if (!keepClient) out.add("Connection", "close");
    else if (head.minorVersion() == 0) out.add("Connection", "keep-alive");
    pending = HeadWriter.response(status, status == 200 ? "OK" : "", out);
    downEnded = endStream || bodiless;
    phase = Phase.RESPONDING;
    pumpDownload();
    settle();
  }

  @Override
  public void bodyArrived() {
    if (phase == Phase.RESPONDING) pumpDownload();
    settle();
  }

  @Override
  public void trailers(HeaderFields trailers) {
    responseTrailers = trailers;
    if (phase == Phase.RESPONDING) pumpDownload();
    settle();
  }

  @Override
  public void reset(int errorCode, String reason) {
    if (phase == Phase.DONE) return;
    upstream = null; // the stream is gone from the connection already
    if (!responseStarted) {
      boolean unprocessed = errorCode == org.eclipse.jetty.http2.ErrorCode.REFUSED_STREAM_ERROR.code && upBytes == 0;
      failed(new BackendFailure(BackendFailure.Kind.RESET, reason), unprocessed);
    } else {
      // the response is under way: all the client can be told is that the connection ends
      client.log().mark(ExchangeLog.Termination.BACKEND_RESET);
      abort();
      client.close();
      return;
    }
    settle();
  }

  @Override
  public void writable() {
    pumpUpload();
    settle();
  }

  private void pumpDownload() {
    while (phase == Phase.RESPONDING) {
      if (pending != null && pending.hasRemaining()) {
        try {
          client.write(pending);
        } catch (IOException e) {
          abort();
          client.close();
          return;
        }
        if (pending.hasRemaining()) {
          blocked = true;
          return;
        }
      }
      blocked = false;
      pending = null;
      if (downEnded) {
        finish();
        return;
      }
      if (upstream == null) return;
      H2ClientConnection frames = upstream.frames();
      ByteBuffer body = frames.body(upstreamId);
      int available = body == null ? 0 : body.remaining();
      boolean ended = frames.bodyEnded(upstreamId);
      if (available > 0) {
        pending = frame(body, available);
        frames.consumed(upstreamId, available);
        downBytes += available;
        continue;
      }
      if (!ended) return;
      if (downFraming == BodyFraming.CHUNKED) pending = lastChunk();
      downEnded = true;
    }
  }

  /** {@code n} body bytes as the client's framing wants them: as they are, or as one chunk. */
  private ByteBuffer frame(ByteBuffer body, int n) {
    boolean chunk = downFraming == BodyFraming.CHUNKED;
    byte[] size = chunk ? (Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.US_ASCII) : new byte[0];
    ByteBuffer out = ByteBuffer.allocate(size.length + n + (chunk ? 2 : 0));
    out.put(size);
    out.put(out.position(), body, body.position(), n);
    out.position(out.position() + n);
    body.position(body.position() + n);
    if (chunk) out.put((byte) '\r').put((byte) '\n');
    return out.flip();
  }

  private ByteBuffer lastChunk() {
    StringBuilder b = new StringBuilder("0\r\n");
    if (responseTrailers != null) {
      for (int i = 0; i < responseTrailers.size(); i++) {
        b.append(responseTrailers.name(i)).append(": ").append(responseTrailers.value(i)).append("\r\n");
      }
    }
    return ByteBuffer.wrap(b.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1));
  }

  private void finish() {
    boolean keep = keepClient && upEnded;
    endAttempt();
    phase = Phase.DONE;
    logEnd(ExchangeLog.Termination.NORMAL);
    client.exchangeDone(keep);
  }

  // --- failures

  private void failed(BackendFailure failure, boolean unprocessed) {
    if (phase == Phase.DONE) return;
    endAttempt();
    RoutedBackend next = attempts.retry(failure, unprocessed);
    if (next != null) {
      attempt(next);
      return;
    }
    phase = Phase.DONE;
    // an unread request body leaves the connection's framing unknown
    client.answer(attempts.answer(failure), requestId, head.hasBody() || !head.keepAlive());
  }

  /** The attempt is over: its stream is released (cancelled on the backend if it was still open either way). */
  private void endAttempt() {
    if (upstream != null) {
      H2Upstream used = upstream;
      upstream = null;
      if (upEnded && used.frames().bodyEnded(upstreamId)) used.release(upstreamId);
      else used.cancel(upstreamId);
      // window updates for what was taken must go out: other streams of the connection may wait for them
      used.flush();
    }
    attempts.end();
  }

  private void logEnd(ExchangeLog.Termination otherwise) {
    ExchangeLog record = client.log();
    if (!record.active()) return;
    record.addBytes(upBytes, downBytes);
    record.end(otherwise, client.loop.now());
  }

  private void settle() {
    if (upstream != null) upstream.flush();
    if (phase != Phase.DONE) client.updateInterest();
  }
}
