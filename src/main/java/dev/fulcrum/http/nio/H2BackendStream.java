package dev.fulcrum.http.nio;

import dev.fulcrum.config.BackendProtocol;
import dev.fulcrum.http.proxy.BackendFailure;
import dev.fulcrum.http.proxy.ExchangeLog;
import dev.fulcrum.http.proxy.GrpcStatus;
import dev.fulcrum.http.proxy.ProxyError;
import dev.fulcrum.http.proxy.Route;
import dev.fulcrum.http.wire.HeaderFields;
import dev.fulcrum.routing.RoutedBackend;
import org.eclipse.jetty.http2.ErrorCode;

/**
 * The backend side of a request carried on a stream of an HTTP/2 backend connection ({@link H2Upstream}), whatever the
 * client speaks ({@link H1ToH2Exchange}, {@link H2ToH2Exchange}): the attempts, the stream's opening, its deadlines
 * (the route's response timeout once the request is sent, and the client's {@code grpc-timeout} from the start), a
 * reset by the backend, and the stream's release. The subclass moves the bodies and speaks to its client.
 */
abstract class H2BackendStream implements H2Upstreams.Waiter, H2Upstream.Stream {
  enum Phase { CONNECTING, SENDING, WAITING, RESPONDING, DONE }

  static final java.nio.ByteBuffer EMPTY = java.nio.ByteBuffer.allocate(0);

  final ClientConnection client;
  final UpstreamPool pool;
  final Route route;
  /** The pool's protocol when the request came: it keeps it if the pool's changes meanwhile. */
  final BackendProtocol protocol;
  final String requestId;
  final ExchangeLog log;
  final BackendAttempts attempts;
  final String backendPath;
  /** gRPC's deadline (from grpc-timeout), or 0. */
  private final long grpcDeadline;
  Phase phase = Phase.CONNECTING;
  UpstreamPool.Target target;
  H2Upstream upstream;
  int upstreamId;
  boolean upEnded;
  boolean responseStarted;
  private long responseDeadline;
  HeaderFields responseTrailers;
  long upBytes;
  long downBytes;
  /** Frames the backend sent on the stream: with the bytes moved, what tells an idle stream from a busy one. */
  private long arrivals;
  private long progressSeen = -1;
  private long lastActivity;

  H2BackendStream(ClientConnection client, UpstreamPool pool, Route route, BackendProtocol protocol, String requestId,
      ExchangeLog log, BackendAttempts attempts, String backendPath, String grpcTimeout) {
    this.client = client;
    this.pool = pool;
    this.route = route;
    this.protocol = protocol;
    this.requestId = requestId;
    this.log = log;
    this.attempts = attempts;
    this.backendPath = backendPath;
    long timeout = GrpcStatus.timeoutNanos(grpcTimeout);
    this.grpcDeadline = timeout > 0 ? client.loop.now() + timeout : 0;
  }

  // --- what the client's side does

  /** The request's method, the {@code :authority} the client named (or null), and its head for the backend. */
  abstract String method();

  abstract String authority();

  abstract HeaderFields headers();

  /** Whether the request ends with its head (no body, no trailers). */
  abstract boolean endsWithHead();

  /** Moves request body (and trailers) to the backend as its windows allow; sets {@link #upEnded} and calls {@link #waiting}. */
  abstract void pumpUpload();

  /** Moves response body (and trailers) to the client as it takes them. */
  abstract void pumpDownload();

  /** The exchange is over without a response from a backend: the client gets {@code error}. */
  abstract void answer(ProxyError error);

  /** The response is under way and cannot be finished: the client's stream (or connection) ends at once. */
  abstract void cut(ErrorCode code);

  /** After any event: connections write what was produced, sockets watch what they wait for. */
  abstract void settle();

  /** The exchange ended (the subclass's owner may forget it). */
  void released() {}

  // --- attempts

  boolean start(RoutedBackend first) {
    if (first == null) return false;
    attempt(first);
    return true;
  }

  private void attempt(RoutedBackend backend) {
    phase = Phase.CONNECTING;
    target = attempts.begin(backend, protocol);
    pool.h2().acquire(target, backend.stats(), this);
  }

  @Override
  public void queued() {
    if (phase == Phase.CONNECTING) log.queued(client.loop.now());
  }

  @Override
  public void streamReady(H2Upstream connection) {
    if (phase != Phase.CONNECTING) return;
    log.connected(client.loop.now());
    String authority = authority() != null ? authority() : attempts.backend().address().toString();
    String scheme = target.key().tls() != null ? "https" : "http";
    boolean noBody = endsWithHead();
    int id = connection.open(this, method(), scheme, authority, backendPath, headers(), noBody);
    if (id < 0) {
      failed(BackendFailure.reset("no stream could be opened"), false);
      settle();
      return;
    }
    upstream = connection;
    upstreamId = id;
    lastActivity = client.loop.now();
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

  /** The request is all sent: the response timeout runs. */
  void waiting() {
    if (phase == Phase.SENDING) {
      phase = Phase.WAITING;
      responseDeadline = client.loop.now() + route.upstream().responseTimeout().toNanos();
    }
  }

  public void sweep(long now) {
    if (phase == Phase.DONE) return;
    if (grpcDeadline != 0 && now - grpcDeadline >= 0) {
      // the client's deadline passed: the backend's call is cancelled, and the client told in gRPC's terms
      log.mark(ExchangeLog.Termination.TIMEOUT);
      if (!responseStarted) {
        endAttempt();
        phase = Phase.DONE;
        answer(new ProxyError(504, "the call's grpc-timeout passed"));
      } else {
        abort();
        cut(ErrorCode.CANCEL_STREAM_ERROR);
      }
      settle();
      return;
    }
    if (phase == Phase.WAITING && !responseStarted && now - responseDeadline >= 0) {
      // a backend that took the stream and does not answer: the stream is reset (endAttempt) and the next tried
      failed(BackendFailure.responseTimeout(), false);
      settle();
      return;
    }
    if (upstream == null) return;
    // as an HTTP/1.1 backend connection with no bytes either way for the backend idle timeout, a stream with none
    long progress = upBytes + downBytes + arrivals;
    if (progress != progressSeen) {
      progressSeen = progress;
      lastActivity = now;
      return;
    }
    long idle = route.upstream().idleTimeout().toNanos();
    if (now - lastActivity < idle) return;
    if (responseStarted) {
      log.mark(ExchangeLog.Termination.TIMEOUT);
      abort();
      cut(ErrorCode.CANCEL_STREAM_ERROR);
    } else {
      failed(BackendFailure.idle("the backend's stream", idle), false);
    }
    settle();
  }

  /** Ends everything at once (the client went away or reset its stream). */
  public void abort() {
    if (phase == Phase.DONE) return;
    if (phase == Phase.CONNECTING && upstream == null && target != null) pool.h2().cancel(target, this);
    endAttempt();
    phase = Phase.DONE;
    logEnd(ExchangeLog.Termination.CLIENT_ABORT);
    released();
  }

  // --- from the backend's stream

  /** The backend's response head came (called by the subclass as it takes it). */
  void responded(int status) {
    responseStarted = true;
    arrivals++;
    attempts.responded(status);
  }

  @Override
  public void bodyArrived() {
    arrivals++;
    if (phase == Phase.RESPONDING) pumpDownload();
    settle();
  }

  @Override
  public void trailers(HeaderFields trailers) {
    arrivals++;
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
      failed(BackendFailure.reset(reason), unprocessed);
    } else {
      log.mark(ExchangeLog.Termination.BACKEND_RESET);
      ErrorCode code = ErrorCode.from(errorCode);
      abort();
      cut(code == null || code == ErrorCode.NO_ERROR ? ErrorCode.INTERNAL_ERROR : code);
    }
    settle();
  }

  @Override
  public void writable() {
    pumpUpload();
    settle();
  }

  // --- failures

  void failed(BackendFailure failure, boolean unprocessed) {
    if (phase == Phase.DONE) return;
    endAttempt();
    RoutedBackend next = attempts.retry(failure, unprocessed);
    if (next != null) {
      attempt(next);
      return;
    }
    phase = Phase.DONE;
    answer(attempts.answer(failure));
  }

  /** The attempt is over: its stream is released (cancelled on the backend if it was still open either way). */
  void endAttempt() {
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

  void logEnd(ExchangeLog.Termination otherwise) {
    log.end(otherwise, upBytes, downBytes, client.loop.now());
  }
}
