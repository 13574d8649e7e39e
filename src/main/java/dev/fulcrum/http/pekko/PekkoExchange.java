package dev.fulcrum.http.pekko;

import dev.fulcrum.http.proxy.BackendFailure;
import dev.fulcrum.http.proxy.BackendSelection;
import dev.fulcrum.http.proxy.ExchangeLog;
import dev.fulcrum.http.proxy.ProxyError;
import dev.fulcrum.http.proxy.Route;
import dev.fulcrum.http.wire.RequestTarget;
import dev.fulcrum.routing.BackendStats;
import dev.fulcrum.routing.RoutedBackend;
import java.net.InetAddress;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One proxied request on Pekko HTTP: sends it to the backends the listener's policy selects, one attempt after another
 * as the policy allows, and reports every attempt to the backend's stats.
 */
final class PekkoExchange {
  private static final Logger log = LoggerFactory.getLogger(PekkoExchange.class);

  private final ProxyContext context;
  private final Route route;
  private final PekkoHeaders headers;
  private final InetAddress client;
  private final String requestId;
  private final RequestTarget target;
  private final CompletableFuture<HttpResponse> result = new CompletableFuture<>();
  private final CompletableFuture<Void> bodySent;
  private final boolean replayable;
  private final HttpRequest outgoing;
  /** What this request did, for the access log and the counters. */
  private final ExchangeLog record;
  private BackendSelection selection;
  /** The client left before the response head (see {@link #clientGone}). */
  private volatile boolean gone;
  /** The request body's bytes: known up front when strict, counted as they pass when streamed. */
  private volatile long requestBytes;

  PekkoExchange(ProxyContext context, Route route, HttpRequest incoming, PekkoHeaders headers, InetAddress client,
      String host, String requestId, RequestTarget target, ExchangeLog record) {
    this.record = record;
    this.context = context;
    this.route = route;
    this.headers = headers;
    this.client = client;
    this.requestId = requestId;
    this.target = target;
    boolean strict = incoming.entity().isStrict() || incoming.entity().isKnownEmpty();
    this.replayable = strict && incoming.method().isIdempotent();
    PekkoHeaders rewritten = new PekkoHeaders(incoming.getHeaders());
    route.requestHeaders(rewritten, context.forwarded(incoming, client, host, requestId), rewritten);
    HttpRequest request = incoming.withHeaders(rewritten.result());
    // the path routes and the firewall decided on, not the one Pekko decoded from the client's spelling
    request = request.withUri(incoming.getUri().path(route.backendPath(target)));
    if (strict) {
      this.bodySent = CompletableFuture.completedFuture(null);
      requestBytes = incoming.entity().getContentLengthOption().orElse(0);
    } else {
      this.bodySent = new CompletableFuture<>();
      request = Bodies.onEnd(request, (bytes, failure) -> {
        requestBytes = bytes;
        bodySent.complete(null);
      });
    }
    this.outgoing = request;
  }

  /** Sends the request on; {@code connection} (null when unknown) tells it if the client leaves before the head. */
  CompletionStage<HttpResponse> start(PekkoConnection connection) {
    if (route.protocol().http2()) {
      return CompletableFuture.completedFuture(
          answer(ProxyError.needsHttp1(route.pool(), route.protocol(), "a listener with engine = pekko")));
    }
    selection = context.policy().select(route, client, headers, target.path(), replayable);
    if (selection == null) return CompletableFuture.completedFuture(answer(ProxyError.noBackend(route.pool())));
    if (connection != null) {
      connection.waiting(this);
      result.whenComplete((r, e) -> connection.answered(this));
    }
    attempt(selection.first());
    return result;
  }

  /**
   * The client went away before the response head: the line is written now (as the nio engine writes it), and the
   * backend's answer, when it comes, is drained and dropped rather than retried or sent.
   */
  void clientGone() {
    gone = true;
    logEnd(0, ExchangeLog.Termination.CLIENT_ABORT);
  }

  private void attempt(RoutedBackend backend) {
    BackendStats stats = backend.stats();
    stats.requestStarted();
    long start = System.nanoTime();
    record.attempt(backend, start);
    CompletableFuture<HttpResponse> pending = context.clients().send(backend.address(), route.upstreamKey(backend), outgoing);
    Duration timeout = route.upstream().responseTimeout();
    bodySent.thenRun(() -> {
      if (pending.isDone()) return;
      Cancellable timer = context.system().scheduler().scheduleOnce(
          timeout, () -> pending.completeExceptionally(new ResponseTimeoutException()), context.system().executionContext());
      pending.whenComplete((r, e) -> timer.cancel());
    });
    pending.whenComplete((response, failure) -> {
      if (gone) {
        if (response != null) response.discardEntityBytes(context.materializer());
        stats.requestFinished(System.nanoTime() - start);
        return;
      }
      if (failure == null) {
        stats.connectSucceeded();
        selection.responded(response.status().intValue());
        long now = System.nanoTime();
        record.connected(now);
        record.responseHead(response.status().intValue(), now);
        result.complete(respond(response, stats, start));
      } else {
        stats.requestFinished(System.nanoTime() - start);
        failed(backend, PekkoFailures.of(failure));
      }
    });
  }

  private void failed(RoutedBackend backend, BackendFailure failure) {
    log.debug("request {} to {} failed on attempt {}: {} ({})",
        requestId, backend.address(), selection.attemptsMade(), failure.kind(), failure.reason());
    record.attemptFailed(failure);
    RoutedBackend next = selection.retryAfter(failure);
    if (next != null) {
      attempt(next);
    } else {
      record.gaveUp(failure);
      result.complete(answer(context.policy().answer(selection, failure)));
    }
  }

  private HttpResponse answer(ProxyError error) {
    synchronized (this) {
      if (record.active()) record.answered(error.status(), error.body().length, System.nanoTime());
    }
    return Responses.of(error, requestId);
  }

  private HttpResponse respond(HttpResponse response, BackendStats stats, long start) {
    PekkoHeaders rewritten = new PekkoHeaders(response.getHeaders());
    route.responseHeaders(rewritten, requestId, rewritten);
    HttpResponse out = response.withHeaders(rewritten.result());
    String cookie = selection.stickyCookie();
    if (cookie != null) out = out.addHeader(RawHeader.create("Set-Cookie", cookie));
    long declared = out.entity().getContentLengthOption().orElse(-1);
    if (out.entity().isStrict() || out.entity().isKnownEmpty()) {
      stats.requestFinished(System.nanoTime() - start);
      logEnd(Math.max(0, declared), ExchangeLog.Termination.NORMAL);
      return out;
    }
    return Bodies.onEnd(out, (bytes, failure) -> {
      stats.requestFinished(System.nanoTime() - start);
      // the server cancels a response whose client went away: the body ends short of its length, or with a failure
      boolean cut = failure != null || (declared >= 0 && bytes < declared);
      logEnd(bytes, cut ? ExchangeLog.Termination.CLIENT_ABORT : ExchangeLog.Termination.NORMAL);
    });
  }

  /** The response is over: the bytes each way as they passed (a streamed body's counted, a strict one's length). */
  private synchronized void logEnd(long responseBytes, ExchangeLog.Termination how) {
    // once: the client's leaving and the backend's answer may race to end it
    record.end(how, requestBytes, responseBytes, System.nanoTime());
  }

  /** The backend's response headers did not arrive in time. */
  static final class ResponseTimeoutException extends RuntimeException {
    ResponseTimeoutException() {
      super("response timeout", null, false, false);
    }
  }
}
