package dev.fulcrum.config;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * One route of an HTTP listener: which requests it takes ({@code host} is "*", an exact name or "*.suffix"; {@code
 * pathPrefix} matches whole segments), which pool serves them, how the path and headers are rewritten, and the backend
 * settings resolved from route, pool, listener and {@code fulcrum.http} defaults in that order. With
 * {@code forwardOriginalPath} the backend gets the path as the client spelled it, and a spelling that normalizing
 * would change is refused (400) instead.
 */
public record HttpRouteSettings(
    String host,
    String pathPrefix,
    String pool,
    Optional<String> rewritePrefix,
    HeaderRules requestHeaders,
    HeaderRules responseHeaders,
    FirewallSettings firewall,
    Upstream upstream,
    StickySettings sticky,
    boolean forwardOriginalPath) {

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
      remove = List.copyOf(remove);
      set = List.copyOf(set);
      add = List.copyOf(add);
    }

    public static final HeaderRules NONE = new HeaderRules(List.of(), List.of(), List.of());

    public boolean isEmpty() {
      return remove.isEmpty() && set.isEmpty() && add.isEmpty();
    }
  }

  public record Header(String name, String value) {}
}
