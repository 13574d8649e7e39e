package dev.fulcrum.http.nio;

import dev.fulcrum.config.BackendProtocol;
import dev.fulcrum.http.proxy.BackendFailure;
import dev.fulcrum.http.proxy.BackendSelection;
import dev.fulcrum.http.proxy.ExchangeLog;
import dev.fulcrum.http.proxy.ListenerPolicy;
import dev.fulcrum.http.proxy.ProxyError;
import dev.fulcrum.http.proxy.Route;
import dev.fulcrum.http.wire.HeaderView;
import dev.fulcrum.routing.RoutedBackend;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The attempts of one request of the nio engine on its route's backends, whatever carries it (an HTTP/1.1 exchange, an
 * HTTP/2 stream; to an HTTP/1.1 or an HTTP/2 backend): the selection, each attempt's counting in the backend's stats
 * and the access log, and after a failure before any of the response reached the client the one decision of what
 * comes next: the same backend once more (a stale pooled connection), the next backend, or an answer. The exchanges
 * move the bytes and keep their own state machines; what an attempt is and when another one is made is decided here
 * only, through plain calls on this one final class (nothing captured per request, no indirection on the hot path).
 */
final class BackendAttempts {
  private static final Logger log = LoggerFactory.getLogger(BackendAttempts.class);

  private final ListenerPolicy policy;
  private final Route route;
  private final ClientConnection client;
  private final ExchangeLog record;
  private final String requestId;
  private final boolean replayable;
  private BackendSelection selection;
  private RoutedBackend backend;
  private long started;
  private boolean counting;

  /** {@code record}: the access-log record of the request (the client connection's, or its HTTP/2 stream's). */
  BackendAttempts(ListenerPolicy policy, Route route, ClientConnection client, ExchangeLog record, String requestId,
      String method, boolean hasBody) {
    this.policy = policy;
    this.route = route;
    this.client = client;
    this.record = record;
    this.requestId = requestId;
    // a body is streamed, not kept, so it cannot be sent again; a method that is not idempotent may have taken effect
    this.replayable = !hasBody && BackendSelection.idempotent(method);
  }

  /** The first backend, or null when the route's pool has no eligible one (nothing was counted). */
  RoutedBackend select(HeaderView headers, String path) {
    selection = policy.select(route, client.address(), headers, path, replayable);
    return selection == null ? null : selection.first();
  }

  boolean replayable() {
    return replayable;
  }

  /** The backend of the attempt under way (or of the last one). */
  RoutedBackend backend() {
    return backend;
  }

  /**
   * An attempt on {@code next} starts: its stats and the access log hear of it. Returns what to ask the pool for: a
   * connection to {@code next} speaking {@code protocol}, with the route's TLS and PROXY protocol (this client's own
   * when the route sends one).
   */
  UpstreamPool.Target begin(RoutedBackend next, BackendProtocol protocol) {
    backend = next;
    backend.stats().requestStarted();
    started = client.loop.now();
    counting = true;
    record.attempt(backend, started);
    return UpstreamPool.Target.of(next, route.upstreamKey(next, protocol), client.clientSocket());
  }

  /** The attempt got its response head. */
  void responded(int status) {
    backend.stats().connectSucceeded();
    selection.responded(status);
    record.responseHead(status, client.loop.now());
  }

  /** The sticky cookie the response sets, or null. */
  String stickyCookie() {
    return selection.stickyCookie();
  }

  /** The attempt is over (once; later calls do nothing): its backend's stats count its time. */
  void end() {
    if (!counting) return;
    counting = false;
    backend.stats().requestFinished(client.loop.now() - started);
  }

  /**
   * The attempt failed before any of the response reached the client: it {@link #end ends}, and the backend of the
   * next attempt is returned, or null when the client is to get {@link #answer}. {@code staleReuse}: it failed on a
   * pooled connection the backend may have closed while idle (or on a stream the backend refused unprocessed), so the
   * request never reached it and goes there once more.
   */
  RoutedBackend retry(BackendFailure failure, boolean staleReuse) {
    end();
    record.attemptFailed(failure);
    log.debug("request {} to {} failed on attempt {}: {} ({})",
        requestId, backend.address(), selection.attemptsMade(), failure.kind(), failure.reason());
    if (staleReuse && replayable && failure.kind() == BackendFailure.Kind.RESET) return backend;
    RoutedBackend next = selection.retryAfter(failure);
    if (next == null) record.gaveUp(failure);
    return next;
  }

  /** The client's answer after the last failed attempt. */
  ProxyError answer(BackendFailure failure) {
    return policy.answer(selection, failure);
  }
}
