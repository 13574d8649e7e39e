package dev.fulcrum.http.nio;

import dev.fulcrum.config.BackendProtocol;
import dev.fulcrum.http.h2.H2ClientConnection;
import dev.fulcrum.http.h2.H2Request;
import dev.fulcrum.http.h2.H2ServerConnection;
import dev.fulcrum.http.proxy.BackendFailure;
import dev.fulcrum.http.proxy.BackendSelection;
import dev.fulcrum.http.proxy.ExchangeLog;
import dev.fulcrum.http.proxy.GrpcStatus;
import dev.fulcrum.http.proxy.ListenerPolicy;
import dev.fulcrum.http.proxy.ProxyError;
import dev.fulcrum.http.proxy.Route;
import dev.fulcrum.http.wire.HeaderFields;
import dev.fulcrum.http.wire.RequestTarget;
import dev.fulcrum.routing.RoutedBackend;
import java.nio.ByteBuffer;
import org.eclipse.jetty.http2.ErrorCode;

/**
 * One HTTP/2 stream of a client carried on a stream of an HTTP/2 backend connection ({@link H2Upstream}): the head
 * through the route's rules (connection-specific fields dropped, {@code te: trailers} kept as RFC 9113 §8.2.2 allows),
 * body and trailers both ways as each side's windows allow, and a reset on either side passed to the other. Request
 * and response flow independently, as gRPC's bidirectional streams need: the response may begin while the request
 * body still comes. Memory is bounded by the windows: body bytes are taken from one side only as the other takes them.
 */
final class H2ToH2Exchange implements H2StreamUser, H2Upstreams.Waiter, H2Upstream.Stream {
  private static final ByteBuffer EMPTY = ByteBuffer.allocate(0);

  enum Phase { CONNECTING, SENDING, WAITING, RESPONDING, DONE }

  private final H2ClientSession session;
  private final ClientConnection client;
  private final H2ServerConnection h2;
  private final UpstreamPool pool;
  private final H2Request request;
  private final int stream;
  private final Route route;
  /** The pool's protocol when the request came: it keeps it if the pool's changes meanwhile. */
  private final BackendProtocol protocol;
  private final String requestId;
  private final String path;
  private final ExchangeLog log;
  private final BackendAttempts attempts;
  private final HeaderFields headers;
  private final String backendPath;
  /** gRPC's deadline (from grpc-timeout), or 0. */
  private final long grpcDeadline;
  private Phase phase = Phase.CONNECTING;
  private UpstreamPool.Target target;
  private H2Upstream upstream;
  private int upstreamId;
  private boolean upEnded;
  private HeaderFields requestTrailers;
  private HeaderFields responseTrailers;
  private boolean responseStarted;
  private long responseDeadline;
  private long upBytes;
  private long downBytes;

  H2ToH2Exchange(H2ClientSession session, ListenerPolicy policy, UpstreamPool pool, H2Request request, Route route,
      BackendProtocol protocol, String requestId, RequestTarget target, ExchangeLog log) {
    this.session = session;
    this.client = session.client();
    this.h2 = session.frames();
    this.pool = pool;
    this.request = request;
    this.stream = request.streamId();
    this.route = route;
    this.protocol = protocol;
    this.requestId = requestId;
    this.path = target.path();
    this.log = log;
    this.attempts = new BackendAttempts(policy, route, log, client.loop::now, requestId,
        !request.hasBody() && BackendSelection.idempotent(request.method()));
    this.headers = H2Translation.requestHeaders(request.headers(), route,
        client.forwarded(requestId, request.authority()));
    this.backendPath = route.backendPath(target) + target.query();
    long timeout = GrpcStatus.timeoutNanos(request.headers().get("grpc-timeout"));
    this.grpcDeadline = timeout > 0 ? client.loop.now() + timeout : 0;
  }

  @Override
  public int streamId() {
    return stream;
  }

  @Override
  public boolean start() {
    RoutedBackend first = attempts.select(client.address(), request.headers(), path);
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
    if (phase == Phase.CONNECTING) log.queued(client.loop.now());
  }

  @Override
  public void streamReady(H2Upstream connection) {
    if (phase != Phase.CONNECTING) return;
    log.connected(client.loop.now());
    String authority = request.authority() != null ? request.authority() : attempts.backend().address().toString();
    String scheme = target.key().tls() != null ? "https" : "http";
    int id = connection.open(this, request.method(), scheme, authority, backendPath, headers, request.endStream());
    if (id < 0) {
      failed(new BackendFailure(BackendFailure.Kind.RESET, "no stream could be opened"), false);
      settle();
      return;
    }
    upstream = connection;
    upstreamId = id;
    upEnded = request.endStream();
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

  @Override
  public void clientWritable() {
    if (phase == Phase.RESPONDING) pumpDownload();
    settle();
  }

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
      // the client's deadline passed: the backend's call is cancelled, and the client told in gRPC's terms
      log.mark(ExchangeLog.Termination.TIMEOUT);
      if (!responseStarted) {
        endAttempt();
        phase = Phase.DONE;
        session.exchangeDone(this);
        session.answer(request, new ProxyError(504, "the call's grpc-timeout passed"), requestId, log);
      } else {
        abort();
        h2.reset(stream, ErrorCode.CANCEL_STREAM_ERROR);
      }
      settle();
      return;
    }
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
    session.exchangeDone(this);
  }

  // --- request

  private void waiting() {
    if (phase == Phase.SENDING) {
      phase = Phase.WAITING;
      responseDeadline = client.loop.now() + route.upstream().responseTimeout().toNanos();
    }
  }

  private void pumpUpload() {
    if (upstream == null || upEnded || phase == Phase.DONE) return;
    H2ClientConnection frames = upstream.frames();
    ByteBuffer body = h2.body(stream);
    int available = body == null ? 0 : body.remaining();
    boolean ended = h2.bodyEnded(stream);
    boolean last = ended && requestTrailers == null;
    if (available > 0 || last) {
      int taken = frames.data(upstreamId, body == null ? EMPTY : body, last);
      upBytes += taken;
      h2.consumed(stream, taken);
      if (taken < available) return; // the backend's windows are shut: writable() resumes
    }
    if (!ended) return;
    if (requestTrailers != null) frames.trailers(upstreamId, requestTrailers);
    upEnded = true;
    waiting();
  }

  // --- response, from the backend's stream

  @Override
  public void response(int status, HeaderFields fields, boolean endStream) {
    if (phase == Phase.DONE) return;
    responseStarted = true;
    attempts.responded(status);
    HeaderFields out = new HeaderFields(fields.size() + 2);
    route.responseHeaders(fields, requestId, out);
    String cookie = attempts.stickyCookie();
    if (cookie != null) out.add("set-cookie", cookie);
    h2.respond(stream, status, out, endStream);
    if (endStream) {
      finish();
    } else {
      phase = Phase.RESPONDING;
      pumpDownload();
    }
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
      // REFUSED_STREAM (or a connection lost before the backend took the stream): it was never processed
      boolean unprocessed = errorCode == ErrorCode.REFUSED_STREAM_ERROR.code && upBytes == 0;
      failed(new BackendFailure(BackendFailure.Kind.RESET, reason), unprocessed);
    } else {
      log.mark(ExchangeLog.Termination.BACKEND_RESET);
      ErrorCode code = ErrorCode.from(errorCode);
      abort();
      h2.reset(stream, code == null || code == ErrorCode.NO_ERROR ? ErrorCode.INTERNAL_ERROR : code);
    }
    settle();
  }

  @Override
  public void writable() {
    pumpUpload();
    settle();
  }

  private void pumpDownload() {
    H2ClientConnection frames = upstream.frames();
    while (phase == Phase.RESPONDING) {
      if (h2.outputFull()) {
        session.pause(this);
        return;
      }
      ByteBuffer body = frames.body(upstreamId);
      int available = body == null ? 0 : body.remaining();
      boolean ended = frames.bodyEnded(upstreamId);
      if (available > 0) {
        boolean last = ended && responseTrailers == null;
        int before = body.position();
        h2.data(stream, body, last);
        int taken = body.position() - before;
        frames.consumed(upstreamId, taken);
        downBytes += taken;
        if (taken < available) return; // the client's windows are shut: clientWritable() resumes
        if (last) {
          finish();
          return;
        }
        continue;
      }
      if (!ended) return;
      if (responseTrailers != null) h2.trailers(stream, responseTrailers);
      else h2.data(stream, EMPTY, true);
      finish();
    }
  }

  private void finish() {
    if (!upEnded && upstream != null) {
      // the backend answered before the request ended: it wants no more of it (RFC 9113 §8.1)
      upstream.cancel(upstreamId);
      upstream = null;
    }
    if (!h2.bodyEnded(stream)) h2.reset(stream, ErrorCode.NO_ERROR);
    endAttempt();
    phase = Phase.DONE;
    logEnd(ExchangeLog.Termination.NORMAL);
    session.exchangeDone(this);
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
    session.exchangeDone(this);
    session.answer(request, attempts.answer(failure), requestId, log);
  }

  /** The attempt is over: its stream is released (cancelled on the backend if it was still open). */
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
    if (!log.active()) return;
    log.addBytes(upBytes, downBytes);
    log.end(otherwise, client.loop.now());
  }

  /** After any event: both connections write what was produced, and the client's socket watches what it waits for. */
  private void settle() {
    if (upstream != null) upstream.flush();
    session.flush();
    client.updateInterest();
  }
}
