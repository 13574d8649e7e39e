package dev.fulcrum.http;

import dev.fulcrum.routing.BackendStats;
import dev.fulcrum.routing.RoutedBackend;
import dev.fulcrum.routing.RoutingTable;
import java.net.InetAddress;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One proxied request: picks a backend (sticky cookie first), sends, and on failure retries the next backend when
 * that is safe and the budget allows. Reports every attempt to the backend's stats, connect failures to its actor.
 */
final class Exchange {
  private static final Logger log = LoggerFactory.getLogger(Exchange.class);

  private final ProxyContext context;
  private final Route route;
  private final HttpRequest incoming;
  private final InetAddress client;
  private final String requestId;
  private final CompletableFuture<HttpResponse> result = new CompletableFuture<>();
  private final CompletableFuture<Void> bodySent;
  private final boolean replayable;
  private final HttpRequest outgoing;
  private RoutingTable table;
  private int first;
  private String stickyToken;

  Exchange(ProxyContext context, Route route, HttpRequest incoming, InetAddress client, String host, String requestId,
      String path) {
    this.context = context;
    this.route = route;
    this.incoming = incoming;
    this.client = client;
    this.requestId = requestId;
    boolean strict = incoming.entity().isStrict() || incoming.entity().isKnownEmpty();
    this.replayable = strict && incoming.method().isIdempotent();
    HttpRequest request =
        incoming.withHeaders(
            HeaderRewriter.forRequest(incoming, client.getHostAddress(), requestId, host, route.requestRules));
    if (route.settings.rewritePrefix().isPresent()) request = request.withUri(incoming.getUri().path(route.rewrite(path)));
    if (strict) {
      this.bodySent = CompletableFuture.completedFuture(null);
    } else {
      this.bodySent = new CompletableFuture<>();
      request = Bodies.onEnd(request, () -> bodySent.complete(null));
    }
    this.outgoing = request;
  }

  CompletionStage<HttpResponse> start() {
    table = route.table.current();
    stickyToken = route.stickyToken(incoming);
    first = route.pick(table, stickyToken, client, incoming);
    if (first < 0) return CompletableFuture.completedFuture(Responses.of(ProxyError.noBackend(route.settings.pool()), requestId));
    context.retryBudget().onRequest();
    attempt(0);
    return result;
  }

  private void attempt(int n) {
    RoutedBackend backend = table.get((first + n) % table.size());
    BackendStats stats = backend.stats();
    stats.requestStarted();
    long start = System.nanoTime();
    CompletableFuture<HttpResponse> pending = context.clients().send(backend.address(), route.clientKey, outgoing);
    Duration timeout = route.settings.upstream().responseTimeout();
    bodySent.thenRun(() -> {
      if (pending.isDone()) return;
      Cancellable timer = context.system().scheduler().scheduleOnce(
          timeout, () -> pending.completeExceptionally(new ResponseTimeoutException()), context.system().executionContext());
      pending.whenComplete((r, e) -> timer.cancel());
    });
    pending.whenComplete((response, failure) -> {
      if (failure == null) {
        stats.connectSucceeded();
        result.complete(respond(response, backend, start));
      } else {
        stats.requestFinished(System.nanoTime() - start);
        failed(n, backend, BackendFailure.of(failure));
      }
    });
  }

  private void failed(int n, RoutedBackend backend, BackendFailure failure) {
    log.debug("request {} to {} failed on attempt {}: {} ({})", requestId, backend.address(), n + 1, failure.kind(), failure.reason());
    if (failure.connectFailed()) backend.reportConnectFailure(failure.reason());
    if (failure.retryable(replayable) && mayRetry(n)) {
      attempt(n + 1);
    } else {
      ProxyError error = failure.clientError(route.settings.upstream(), context.settings().limits().maxBodySize());
      result.complete(Responses.of(error, requestId));
    }
  }

  private boolean mayRetry(int n) {
    return n + 1 < Math.min(route.settings.upstream().maxAttempts(), table.size()) && context.retryBudget().tryRetry();
  }

  private HttpResponse respond(HttpResponse response, RoutedBackend backend, long start) {
    HttpResponse out = response.withHeaders(HeaderRewriter.forResponse(response, requestId, route.responseRules));
    if (route.settings.sticky().enabled() && !StickyCookie.token(backend.address()).equals(stickyToken)) {
      out = out.addHeader(StickyCookie.setCookie(route.settings.sticky().cookie(), backend.address()));
    }
    BackendStats stats = backend.stats();
    if (out.entity().isStrict() || out.entity().isKnownEmpty()) {
      stats.requestFinished(System.nanoTime() - start);
      return out;
    }
    return Bodies.onEnd(out, () -> stats.requestFinished(System.nanoTime() - start));
  }

  /** The backend's response headers did not arrive in time. */
  static final class ResponseTimeoutException extends RuntimeException {
    ResponseTimeoutException() {
      super("response timeout", null, false, false);
    }
  }
}
