package dev.fulcrum.http.proxy;

import dev.fulcrum.config.HttpListenerSettings;
import dev.fulcrum.firewall.Firewall;
import dev.fulcrum.http.wire.HeaderView;
import dev.fulcrum.http.wire.ParsedTarget;
import dev.fulcrum.http.wire.PathNormalizer;
import dev.fulcrum.http.wire.RequestTarget;
import dev.fulcrum.routing.RoutingTables;
import java.net.InetAddress;

/**
 * What one HTTP listener decides about each exchange, whatever engine carries it, in the order of its phases (as
 * Pingora's {@code ProxyHttp}): admission (route match, firewall, declared body size), backend selection with its
 * retry decisions ({@link BackendSelection}), header rules (on the {@link Route}) and the proxy's own answers
 * ({@link ProxyError}). Immutable but for the retry budget, shared by every connection of the listener.
 */
public final class ListenerPolicy {
  private final HttpListenerSettings settings;
  private final RouteTableRef routes;
  private final Firewall firewall;
  private final RetryBudget retryBudget;
  private final PathNormalizer paths;

  /** A listener whose routes are its settings' for good (tests, tools). */
  public ListenerPolicy(HttpListenerSettings settings, RoutingTables tables) {
    this(settings, RouteTableRef.of(settings.name(), settings.routes(), tables));
  }

  /** A listener that reads its current routes from {@code routes} on every request. */
  public ListenerPolicy(HttpListenerSettings settings, RouteTableRef routes) {
    this.settings = settings;
    this.routes = routes;
    this.firewall = new Firewall(settings.firewall());
    this.retryBudget = new RetryBudget(settings.retryBudget());
    this.paths = new PathNormalizer(
        PathNormalizer.EncodedSlash.valueOf(settings.paths().encodedSlash().name()), settings.paths().mergeSlashes());
  }

  /** How this listener reads request targets: every path is normalized before anything is decided on it. */
  public ParsedTarget parseTarget(String target) {
    return RequestTarget.parse(target, paths);
  }

  /** The listener's current route table. */
  public Routes routes() {
    return routes.get();
  }

  public HttpListenerSettings settings() {
    return settings;
  }

  public RetryBudget retryBudget() {
    return retryBudget;
  }

  public long maxBodySize() {
    return settings.limits().maxBodySize();
  }

  /**
   * The route for a request to {@code host} (a Host header value, may carry a port; null without one) and target, or
   * the answer when there is none, the firewall refuses, the declared body is too large ({@code contentLength} -1
   * when not declared), or the route forwards paths as spelled and this one is not in its normal form. The route
   * table is read once, here: the exchange keeps this route whatever changes after.
   */
  public Admission admit(InetAddress client, String host, RequestTarget target, HeaderView headers, long contentLength) {
    String path = target.path();
    Route route = routes.get().match(host == null ? "" : host, path, headers);
    if (route == null) return ProxyError.noRoute();
    if (route.forwardsOriginalPath() && target.respelled()) {
      return new ProxyError(400, "the request path is not in its normal form ('" + target.forwardPath()
          + "'), and this route forwards paths as sent");
    }
    if (!firewall.permits(client, path) || !route.permits(client, path)) return ProxyError.forbidden();
    if (contentLength > maxBodySize()) return ProxyError.tooLarge(maxBodySize());
    return route;
  }

  /**
   * The route a request matched though {@link #admit} refused it (firewall, body size, path spelling), for its
   * access-log line; null when none matched. Called only for refused requests.
   */
  public Route refusedRoute(String host, RequestTarget target, HeaderView headers) {
    return routes.get().match(host == null ? "" : host, target.path(), headers);
  }

  /** The backends for an admitted request; null when the route's pool has none eligible (answer with noBackend). */
  public BackendSelection select(
      Route route, InetAddress client, HeaderView headers, String path, boolean replayable) {
    return BackendSelection.start(route, retryBudget, client, headers, path, replayable);
  }

  /** What the client is told after this failure when no other backend is tried. */
  public ProxyError answer(BackendSelection selection, BackendFailure failure) {
    return selection.answer(failure, maxBodySize());
  }
}
