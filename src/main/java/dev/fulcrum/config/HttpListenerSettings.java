package dev.fulcrum.config;

import java.time.Duration;
import java.util.List;

/**
 * An L7 listener: where it binds, its routes (in config order; matching picks the most specific), the firewall applied
 * before any route's own, its limits, and the retry budget shared by all its routes.
 */
public record HttpListenerSettings(
    String name,
    HostPort bind,
    List<HttpRouteSettings> routes,
    FirewallSettings firewall,
    HttpLimits limits,
    Duration clientIdleTimeout,
    RetryBudgetSettings retryBudget,
    Engine engine,
    PathSettings paths,
    java.util.Optional<TlsSettings> tls,
    List<Cidr> proxyProtocolFrom,
    Http2Settings http2) {

  /** What runs the listener: Fulcrum's own HTTP/1.1 engine on the event loops, or a Pekko HTTP server. */
  public enum Engine { NIO, PEKKO }

  /** A listener without HTTP/2. */
  public HttpListenerSettings(String name, HostPort bind, List<HttpRouteSettings> routes, FirewallSettings firewall,
      HttpLimits limits, Duration clientIdleTimeout, RetryBudgetSettings retryBudget, Engine engine, PathSettings paths,
      java.util.Optional<TlsSettings> tls, List<Cidr> proxyProtocolFrom) {
    this(name, bind, routes, firewall, limits, clientIdleTimeout, retryBudget, engine, paths, tls, proxyProtocolFrom,
        Http2Settings.OFF);
  }

  public HttpListenerSettings {
    routes = List.copyOf(routes);
    proxyProtocolFrom = List.copyOf(proxyProtocolFrom);
  }

  /** Request limits, enforced before anything is forwarded. */
  public record HttpLimits(
      int maxHeaderValueLength, int maxHeaderCount, int maxUriLength, long maxBodySize, int maxConnections) {}

  /** At most {@code ratio} retries per request on average, plus a reserve of {@code burst} retries. */
  public record RetryBudgetSettings(double ratio, int burst) {}
}
