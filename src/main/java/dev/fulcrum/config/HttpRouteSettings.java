package dev.fulcrum.config;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * One route of an HTTP listener: which requests it takes ({@code host} is "*", an exact name or "*.suffix"; {@code
 * pathPrefix} matches whole segments; {@code match} optionally asks for a header or a cookie), which pool serves them
 * (one, or several with weights in percent that add up to 100), how the path and headers are rewritten, and the backend
 * settings resolved from route, (first) pool, listener and {@code fulcrum.http} defaults in that order. With
 * {@code forwardOriginalPath} the backend gets the path as the client spelled it, and a spelling that normalizing
 * would change is refused (400) instead. {@code name} identifies the route in its table, the admin API and metrics.
 *
 * <p>Routes are journaled (route tables are event-sourced): add fields only with a default.
 */
public record HttpRouteSettings(
    String name,
    String host,
    String pathPrefix,
    Match match,
    List<WeightedPool> pools,
    Optional<String> rewritePrefix,
    HeaderRules requestHeaders,
    HeaderRules responseHeaders,
    FirewallSettings firewall,
    Upstream upstream,
    StickySettings sticky,
    boolean forwardOriginalPath) {

  public HttpRouteSettings {
    pools = pools == null ? List.of() : List.copyOf(pools);
    match = match == null ? Match.NONE : match;
    rewritePrefix = rewritePrefix == null ? Optional.empty() : rewritePrefix;
  }

  /** The pool that serves the route, or the first of a weighted split. */
  public String pool() {
    return pools.isEmpty() ? "" : pools.get(0).pool();
  }

  /** Whether the route splits its requests between several pools. */
  public boolean splits() {
    return pools.size() > 1;
  }

  /** The same route with other rules (header rewriting and firewall), as {@code SetRules} changes them. */
  public HttpRouteSettings withRules(HeaderRules request, HeaderRules response, FirewallSettings fw) {
    return new HttpRouteSettings(name, host, pathPrefix, match, pools, rewritePrefix, request, response, fw, upstream, sticky,
        forwardOriginalPath);
  }

  /** The same route with other pools and weights. */
  public HttpRouteSettings withPools(List<WeightedPool> split) {
    return new HttpRouteSettings(name, host, pathPrefix, match, split, rewritePrefix, requestHeaders, responseHeaders, firewall,
        upstream, sticky, forwardOriginalPath);
  }

  /** How the default name reads: host and path prefix ({@code *\/api}), and the condition if there is one. */
  public static String defaultName(String host, String pathPrefix, Match match) {
    return host + pathPrefix + (match.none() ? "" : " " + match);
  }

  /** A pool of a route and its share of the requests in percent (100 when the route has one pool). */
  public record WeightedPool(String pool, int weight) {}

  /**
   * A condition on the request besides host and path: a header ({@code X-Canary: 1}; a name alone asks only that the
   * header be present) and/or a cookie ({@code canary=1}; likewise). Values compare exactly, header names without case.
   */
  public record Match(Optional<Header> header, Optional<Header> cookie) {
    public static final Match NONE = new Match(Optional.empty(), Optional.empty());

    public Match {
      header = header == null ? Optional.empty() : header;
      cookie = cookie == null ? Optional.empty() : cookie;
    }

    public boolean none() {
      return header.isEmpty() && cookie.isEmpty();
    }

    @Override
    public String toString() {
      StringBuilder s = new StringBuilder();
      header.ifPresent(h -> s.append("[").append(h.name()).append(h.value().isEmpty() ? "" : ": " + h.value()).append("]"));
      cookie.ifPresent(c -> s.append("[cookie ").append(c.name()).append(c.value().isEmpty() ? "" : "=" + c.value()).append("]"));
      return s.toString();
    }
  }

  /** How requests of this route reach a backend. */
  public record Upstream(
      Duration connectTimeout,
      Duration responseTimeout,
      Duration idleTimeout,
      Duration keepAliveTimeout,
      int maxAttempts,
      int maxConnections,
      int queueSize,
      Duration queueTimeout,
      ProxyProtocolVersion sendProxyProtocol) {}

  /** When enabled, a cookie names the backend that served a client, who then keeps going there while it is eligible. */
  public record StickySettings(boolean enabled, String cookie) {}

  /** Header rewriting, applied in this order: remove, set (replaces), add (appends). */
  public record HeaderRules(List<String> remove, List<Header> set, List<Header> add) {
    public HeaderRules {
      remove = remove == null ? List.of() : List.copyOf(remove);
      set = set == null ? List.of() : List.copyOf(set);
      add = add == null ? List.of() : List.copyOf(add);
    }

    public static final HeaderRules NONE = new HeaderRules(List.of(), List.of(), List.of());

    public boolean isEmpty() {
      return remove.isEmpty() && set.isEmpty() && add.isEmpty();
    }
  }

  public record Header(String name, String value) {}
}
