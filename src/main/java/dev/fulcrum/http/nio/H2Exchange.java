package dev.fulcrum.http.nio;

import dev.fulcrum.Failures;
import dev.fulcrum.config.BackendProtocol;
import dev.fulcrum.http.h2.H2Request;
import dev.fulcrum.http.h2.H2ServerConnection;
import dev.fulcrum.http.proxy.BackendFailure;
import dev.fulcrum.http.proxy.ExchangeLog;
import dev.fulcrum.http.proxy.GrpcStatus;
import dev.fulcrum.http.proxy.ListenerPolicy;
import dev.fulcrum.http.proxy.ProxyError;
import dev.fulcrum.http.proxy.Route;
import dev.fulcrum.http.wire.BodyFraming;
import dev.fulcrum.http.wire.ChunkedScanner;
import dev.fulcrum.http.wire.ChunkedTrailers;
import dev.fulcrum.http.wire.HeadWriter;
import dev.fulcrum.http.wire.HeaderFields;
import dev.fulcrum.http.wire.ParsedResponse;
import dev.fulcrum.http.wire.RequestTarget;
import dev.fulcrum.http.wire.ResponseHead;
import dev.fulcrum.http.wire.WireError;
import dev.fulcrum.routing.RoutedBackend;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.charset.StandardCharsets;
import org.eclipse.jetty.http2.ErrorCode;

/**
 * One HTTP/2 stream of a client on its way to an HTTP/1.1 backend and back: the request head is written as HTTP/1.1
 * (headers through the route's rules; a body of unknown length chunked, the request's trailers in its last chunk),
 * the body taken from the stream as its flow control lets it arrive; the response head becomes HEADERS and its body
 * (length, chunked or until close) DATA frames, as fast as the stream's window and the client's reading allow. A
 * slow reader stalls its own stream only: this stops reading its backend connection, nothing else waits.
 */
final class H2Exchange implements H2StreamUser, UpstreamPool.Waiter, UpstreamConnection.User {
  private static final byte[] CRLF = {'\r', '\n'};

  enum Phase { CONNECTING, SENDING, WAITING, RESPONDING, DONE }

  private final H2ClientSession session;
  private final ClientConnection client;
  private final H2ServerConnection h2;
  private final UpstreamPool pool;
  private final H2Request request;
  private final int stream;
  private final Route route;
  private final String requestId;
  private final String path;
  private final ExchangeLog log;
  private final BodyFraming upFraming;
  private final ByteBuffer requestHead;
  /** gRPC's deadline (from grpc-timeout), or 0. */
  private final long grpcDeadline;
  private Phase phase = Phase.CONNECTING;
  private final BackendAttempts attempts;
  private UpstreamPool.Target target;
  private UpstreamConnection connection;
  /** Bytes for the backend not written yet (flush mode): the head, then framed body pieces. */
  private ByteBuffer up;
  private boolean upEnded;
  private boolean upBlocked;
  private HeaderFields requestTrailers;
  private long upBytes;
  private long responseDeadline;
  private boolean responseStarted;
  private BodyFraming downFraming;
  private long downRemaining;
  private ChunkedScanner chunked;
  private ChunkedTrailers trailers;
  private boolean downBlocked;
  private boolean backendKeepAlive;
  private long downBytes;

  H2Exchange(H2ClientSession session, ListenerPolicy policy, UpstreamPool pool, H2Request request, Route route,
      String requestId, RequestTarget target, ExchangeLog log) {
    this.session = session;
    this.client = session.client();
    this.h2 = session.frames();
    this.pool = pool;
    this.request = request;
    this.stream = request.streamId();
    this.route = route;
    this.requestId = requestId;
    this.path = target.path();
    this.log = log;
    this.attempts = new BackendAttempts(policy, route, client, log, requestId, request.method(), request.hasBody());
    HeaderFields headers = new HeaderFields(request.headers().size() + 6);
    route.requestHeaders(request.headers(), client.forwarded(requestId, request.authority()), headers);
    if (request.endStream()) {
      upFraming = BodyFraming.NONE;
    } else if (request.contentLength() >= 0) {
      upFraming = BodyFraming.LENGTH;
    } else {
      upFraming = BodyFraming.CHUNKED;
      headers.add("Transfer-Encoding", "chunked");
    }
    this.requestHead = HeadWriter.request(request.method(), route.backendPath(target) + target.query(), 1, headers);
    long timeout = GrpcStatus.timeoutNanos(request.headers().get("grpc-timeout"));
    this.grpcDeadline = timeout > 0 ? client.loop.now() + timeout : 0;
  }

  @Override
  public int streamId() {
    return stream;
  }

  /** Starts the first attempt; false (and nothing started) when the route's pool has no eligible backend. */
  @Override
  public boolean start() {
    RoutedBackend first = attempts.select(request.headers(), path);
    if (first == null) return false;
    attempt(first);
    return true;
  }

  private void attempt(RoutedBackend backend) {
    phase = Phase.CONNECTING;
    target = attempts.begin(backend, BackendProtocol.HTTP_1_1);
    up = requestHead.duplicate();
    upEnded = upFraming == BodyFraming.NONE;
    pool.acquire(target, backend.stats(), this);
  }

  // as Exchange: the access log's Tw (time in the backend's queue) and Tc (connect) of the stream's attempt
  @Override
  public void queued() {
    if (phase == Phase.CONNECTING) log.queued(client.loop.now());
  }

  @Override
  public void connecting() {
    if (phase == Phase.CONNECTING) log.connecting(client.loop.now());
  }

  @Override
  public void acquired(UpstreamConnection given) {
    if (phase != Phase.CONNECTING) {
      pool.release(given);
      return;
    }
    connection = given;
    connection.lend(this);
    log.connected(client.loop.now());
    byte[] header = connection.proxyHeader(client);
    if (header != null) up = ByteBuffer.allocate(header.length + up.remaining()).put(header).put(up).flip();
    phase = Phase.SENDING;
    pumpUpload();
    settle();
  }

  @Override
  public void acquireFailed(BackendFailure failure) {
    if (phase == Phase.CONNECTING) {
      failed(failure);
      settle();
    }
  }

  @Override
  public void backendReady(int readyOps) {
    if ((readyOps & SelectionKey.OP_WRITE) != 0) pumpUpload();
    if (phase != Phase.DONE && (readyOps & SelectionKey.OP_READ) != 0) backendReadable();
    settle();
  }

  @Override
  public void backendAborted(Throwable cause) {
    backendBroke(Failures.describe(cause));
    settle();
  }

  // --- from the client's stream

  @Override
  public void requestBodyArrived() {
    pumpUpload();
    settle();
  }

  @Override
  public void requestTrailers(HeaderFields trailers) {
    requestTrailers = trailers;
    pumpUpload();
    settle();
  }

  /** The stream's window opened, or the client's output drained. */
  @Override
  public void clientWritable() {
    downBlocked = false;
    if (phase == Phase.RESPONDING) pumpDownload();
    settle();
  }

  /** The client reset the stream: the backend's request ends too (for HTTP/1.1, by closing its connection). */
  @Override
  public void cancelled() {
    if (phase == Phase.DONE) return;
    log.mark(ExchangeLog.Termination.CLIENT_ABORT);
    abort();
  }

  @Override
  public void sweep(long now) {
    if (phase == Phase.DONE) return;
    if (grpcDeadline != 0 && now - grpcDeadline >= 0) {
      if (!responseStarted) {
        // the client's deadline passed: it is told in gRPC's terms, and nothing is retried
        log.mark(ExchangeLog.Termination.TIMEOUT);
        endAttempt();
        phase = Phase.DONE;
        session.exchangeDone(this);
        session.answer(request, new ProxyError(504, "the call's grpc-timeout passed"), requestId, log);
      } else {
        log.mark(ExchangeLog.Termination.TIMEOUT);
        abort();
        h2.reset(stream, ErrorCode.CANCEL_STREAM_ERROR);
      }
      session.flush();
      return;
    }
    if (phase == Phase.WAITING && now - responseDeadline >= 0) {
      failed(BackendFailure.responseTimeout());
      settle();
      return;
    }
    if (connection == null) return;
    long idle = route.upstream().idleTimeout().toNanos();
    if (now - connection.lastActivity() < idle || downBlocked) return;
    if (responseStarted) {
      log.mark(ExchangeLog.Termination.TIMEOUT);
      abort();
      h2.reset(stream, ErrorCode.INTERNAL_ERROR);
    } else {
      failed(BackendFailure.idle("the backend connection", idle));
    }
    settle();
  }

  /** Ends everything at once (the client connection closed or the stream was reset). */
  @Override
  public void abort() {
    if (phase == Phase.DONE) return;
    if (phase == Phase.CONNECTING && connection == null) pool.cancel(target, this);
    endAttempt();
    phase = Phase.DONE;
    logEnd(ExchangeLog.Termination.CLIENT_ABORT);
    session.exchangeDone(this);
  }

  // --- request

  private void pumpUpload() {
    if (connection == null || phase == Phase.DONE) return;
    try {
      while (true) {
        if (up != null && up.hasRemaining()) {
          connection.write(up);
          if (up.hasRemaining()) {
            upBlocked = true;
            return;
          }
        }
        upBlocked = false;
        if (upEnded) {
          if (phase == Phase.SENDING) {
            phase = Phase.WAITING;
            long timeout = route.upstream().responseTimeout().toNanos();
            responseDeadline = client.loop.now() + timeout;
          }
          return;
        }
        ByteBuffer body = h2.body(stream);
        int available = body == null ? 0 : body.remaining();
        boolean ended = h2.bodyEnded(stream);
        if (available == 0 && !ended) return;
        up = frame(body, available, ended);
        upBytes += available;
        h2.consumed(stream, available);
        if (ended) upEnded = true;
      }
    } catch (IOException e) {
      if (phase == Phase.RESPONDING) upEnded = true; // an early answer: the backend stopped reading the body
      else backendBroke(Failures.describe(e));
    }
  }

  /** The body bytes as the backend's framing wants them: as they are, or as a chunk (the last with the trailers). */
  private ByteBuffer frame(ByteBuffer body, int n, boolean last) {
    if (upFraming != BodyFraming.CHUNKED) {
      ByteBuffer copy = ByteBuffer.allocate(n);
      if (n > 0) copy.put(copy.position(), body, body.position(), n);
      if (n > 0) body.position(body.position() + n);
      return copy;
    }
    byte[] size = n > 0 ? (Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.US_ASCII) : new byte[0];
    byte[] end = last ? lastChunk() : new byte[0];
    ByteBuffer framed = ByteBuffer.allocate(size.length + n + (n > 0 ? 2 : 0) + end.length);
    framed.put(size);
    if (n > 0) {
      framed.put(framed.position(), body, body.position(), n);
      framed.position(framed.position() + n);
      body.position(body.position() + n);
      framed.put(CRLF);
    }
    return framed.put(end).flip();
  }

  private byte[] lastChunk() {
    StringBuilder b = new StringBuilder("0\r\n");
    if (requestTrailers != null) {
      for (int i = 0; i < requestTrailers.size(); i++) {
        b.append(requestTrailers.name(i)).append(": ").append(requestTrailers.value(i)).append("\r\n");
      }
    }
    return b.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1);
  }

  // --- response

  private void backendReadable() {
    int n;
    try {
      n = connection.read();
    } catch (IOException e) {
      backendBroke(Failures.describe(e));
      return;
    }
    if (responseStarted) pumpDownload();
    else readResponseHead();
    // closed with part of a head unread (a backend that is no HTTP/1.1 server: an HTTP/2 one's GOAWAY) is as broken
    if (phase != Phase.DONE && n < 0 && connection != null && (!responseStarted || connection.unconsumed() == 0)) {
      if (responseStarted && downFraming == BodyFraming.UNTIL_CLOSE) pumpDownload();
      else backendBroke("the backend closed the connection");
    }
  }

  private void readResponseHead() {
    while (phase != Phase.DONE && !responseStarted) {
      ParsedResponse parsed = connection.nextResponseHead();
      if (parsed == null) return;
      if (parsed instanceof WireError error) {
        failed(BackendFailure.invalidResponse(error.problem()));
        return;
      }
      ResponseHead response = (ResponseHead) parsed;
      if (response.status() == 101) {
        failed(BackendFailure.invalidResponse("a protocol switch answers an HTTP/2 request"));
        return;
      }
      if (response.status() >= 200) respond(response);
    }
  }

  private void respond(ResponseHead response) {
    responseStarted = true;
    attempts.responded(response.status());
    downFraming = BodyFraming.of(response, request.method());
    downRemaining = response.contentLength();
    backendKeepAlive = response.keepAlive();
    if (downFraming == BodyFraming.CHUNKED) {
      chunked = new ChunkedScanner(Long.MAX_VALUE);
      trailers = new ChunkedTrailers();
    }
    HeaderFields headers = new HeaderFields(response.headers().size() + 2);
    route.responseHeaders(response.headers(), requestId, headers);
    String cookie = attempts.stickyCookie();
    if (cookie != null) headers.add("Set-Cookie", cookie);
    if (downFraming == BodyFraming.CHUNKED) headers.removeAll("content-length");
    h2.respond(stream, response.status(), headers, downFraming == BodyFraming.NONE);
    if (downFraming == BodyFraming.NONE) {
      finish();
      return;
    }
    phase = Phase.RESPONDING;
    pumpDownload();
  }

  private void pumpDownload() {
    while (phase == Phase.RESPONDING) {
      if (h2.outputFull()) {
        downBlocked = true;
        session.pause(this);
        return;
      }
      int available = connection.unconsumed();
      switch (downFraming) {
        case LENGTH -> {
          int n = (int) Math.min(available, downRemaining);
          if (downRemaining == 0) {
            finish();
            return;
          }
          if (n == 0) return;
          int taken = send(n, n == downRemaining);
          downRemaining -= taken;
          if (taken < n) return;
          if (downRemaining == 0) {
            finish();
            return;
          }
        }
        case CHUNKED -> {
          if (!chunked.inData()) {
            int end = connection.scanFraming(chunked);
            if (end < 0) {
              log.mark(ExchangeLog.Termination.BACKEND_RESET);
              abort();
              h2.reset(stream, ErrorCode.INTERNAL_ERROR);
              return;
            }
            trailers.framing(connection.unconsumedView(end), chunked.inData());
            connection.consume(end);
            if (chunked.done()) {
              // the trailers of the chunked answer (gRPC's status among them) end the stream as HEADERS
              HeaderFields fields = trailers.trailers();
              if (fields != null) h2.trailers(stream, fields);
              else h2.data(stream, ByteBuffer.allocate(0), true);
              finish();
              return;
            }
            if (!chunked.inData()) return;
            available = connection.unconsumed();
          }
          int n = (int) Math.min(available, chunked.chunkLeft());
          if (n == 0) return;
          int taken = send(n, false);
          if (taken > 0) chunked.skipData(taken);
          if (taken < n) return;
        }
        default -> { // until the backend closes
          if (available == 0) {
            if (connection.inputEnded()) {
              h2.data(stream, ByteBuffer.allocate(0), true);
              finish();
            }
            return;
          }
          if (send(available, false) < available) return;
        }
      }
    }
  }

  /** Offers {@code n} unconsumed backend bytes as DATA; how many were taken (fewer: the windows are shut). */
  private int send(int n, boolean last) {
    ByteBuffer view = connection.unconsumedView(n);
    int taken = h2.data(stream, view, last);
    if (taken > 0) connection.consume(taken);
    downBytes += taken;
    if (taken < n) downBlocked = true;
    return taken;
  }

  private void finish() {
    boolean reusable = backendKeepAlive && upEnded && !upBlocked && downFraming != BodyFraming.UNTIL_CLOSE
        && !connection.inputEnded() && connection.unconsumed() == 0;
    UpstreamConnection used = connection;
    connection = null;
    attempts.end();
    pool.giveBack(used, reusable);
    phase = Phase.DONE;
    logEnd(ExchangeLog.Termination.NORMAL);
    session.exchangeDone(this);
  }

  // --- failures

  private void backendBroke(String reason) {
    if (phase == Phase.DONE) return;
    if (responseStarted) {
      // the response is under way: the client can only be told that this stream ends
      log.mark(ExchangeLog.Termination.BACKEND_RESET);
      abort();
      h2.reset(stream, ErrorCode.INTERNAL_ERROR);
      return;
    }
    failed(BackendFailure.reset(reason));
  }

  private void failed(BackendFailure failure) {
    if (phase == Phase.DONE) return;
    boolean pooled = connection != null && connection.reused();
    endAttempt();
    RoutedBackend next = attempts.retry(failure, pooled);
    if (next != null) {
      attempt(next);
      return;
    }
    phase = Phase.DONE;
    session.exchangeDone(this);
    session.answer(request, attempts.answer(failure), requestId, log);
  }

  private void endAttempt() {
    if (connection != null) {
      pool.close(connection);
      connection = null;
    }
    attempts.end();
  }

  private void logEnd(ExchangeLog.Termination otherwise) {
    log.end(otherwise, upBytes, downBytes, client.loop.now());
  }

  /** After any event: the backend socket watches what it waits for; the client gets what was produced at the turn's end. */
  private void settle() {
    if (connection != null) {
      boolean read = !connection.inputEnded() && connection.inputHasRoom() && !downBlocked;
      connection.interest(read, upBlocked && phase != Phase.DONE);
    }
    session.flushSoon();
  }
}
