package dev.fulcrum.http.proxy;

import dev.fulcrum.http.wire.HeaderView;
import dev.fulcrum.routing.Attempts;
import dev.fulcrum.routing.RoutedBackend;
import dev.fulcrum.routing.RoutingTable;
import java.net.InetAddress;
import java.util.Optional;

/**
 * The backends one request may go to, and the decision after each failure: the sticky cookie's backend or the
 * strategy's pick first, then the next ones of the same table while the failure allows a retry (nothing reached a
 * backend, or the request can be sent again without harm), attempts remain and the listener's retry budget has room.
 */
public final class BackendSelection {
  private final Route route;
  private final RetryBudget budget;
  private final Attempts attempts;
  private final String stickyToken;
  private final boolean replayable;

  private BackendSelection(Route route, RetryBudget budget, Attempts attempts, String stickyToken, boolean replayable) {
    this.route = route;
    this.budget = budget;
    this.attempts = attempts;
    this.stickyToken = stickyToken;
    this.replayable = replayable;
  }

  /** Null when the route's pool has no eligible backend. */
  static BackendSelection start(
      Route route, RetryBudget budget, InetAddress client, HeaderView headers, String path, boolean replayable) {
    RoutingTable table = route.table().current();
    String sticky = route.stickyToken(headers);
    int first = sticky == null ? -1 : StickyCookie.find(table, sticky);
    if (first < 0) first = table.pick(table.usesKey() ? requestKey(table, client, headers, path) : 0);
    if (first < 0) return null;
    budget.onRequest();
    return new BackendSelection(route, budget, new Attempts(table, first, route.upstream().maxAttempts()), sticky,
        replayable);
  }

  private static long requestKey(RoutingTable table, InetAddress client, HeaderView headers, String path) {
    return table.requestKey(client, name -> Optional.ofNullable(headers.get(name)),
        name -> Optional.ofNullable(StickyCookie.read(headers, name)), path);
  }

  /** The first backend; then {@link #retryAfter} gives the next ones. */
  public RoutedBackend first() {
    return attempts.next();
  }

  /** The backend of the attempt under way. */
  public RoutedBackend current() {
    return attempts.current();
  }

  /** Attempts made so far, the current one included. */
  public int attemptsMade() {
    return attempts.made();
  }

  /**
   * The current attempt failed before any of the response reached the client: reports a failed connect to the
   * backend's health, and gives the next backend to try, or null when the client is to get {@link #answer}.
   */
  public RoutedBackend retryAfter(BackendFailure failure) {
    RoutedBackend failed = attempts.current();
    switch (failure.kind()) {
      case CONNECT, CONNECT_TIMEOUT -> failed.reportConnectFailure(failure.reason());
      case RESET -> {
        failed.stats().outliers().localFailure("reset before a response: " + failure.reason());
        failed.stats().outliers().gatewayError("reset before a response");
      }
      case TIMEOUT -> failed.stats().outliers().localFailure(failure.reason());
      case INVALID_RESPONSE -> failed.stats().outliers().gatewayError("invalid response: " + failure.reason());
      // the backend was not asked, or the client's body was at fault
      case BUSY, QUEUE_TIMEOUT, TOO_LARGE -> {}
    }
    if (failure.retryable(replayable) && attempts.hasNext() && budget.tryRetry()) return attempts.next();
    return null;
  }

  /** The current backend's response head arrived with this status: outlier detection counts it. */
  public void responded(int status) {
    attempts.current().stats().outliers().responded(status);
  }

  /** What the client is told when no other backend is tried after this failure. */
  ProxyError answer(BackendFailure failure, long maxBodySize) {
    return failure.clientError(route.upstream(), maxBodySize);
  }

  /** The Set-Cookie value to add to the response of the current backend, or null. */
  public String stickyCookie() {
    return route.stickyCookie(attempts.current().address(), stickyToken);
  }

  /** Methods a client expects to be safe to send twice (RFC 9110 §9.2.2). */
  public static boolean idempotent(String method) {
    return switch (method) {
      case "GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE" -> true;
      default -> false;
    };
  }
}
