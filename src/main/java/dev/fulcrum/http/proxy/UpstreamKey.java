package dev.fulcrum.http.proxy;

import dev.fulcrum.config.HttpRouteSettings.Upstream;
import dev.fulcrum.config.ProxyProtocolVersion;
import dev.fulcrum.tls.BackendTls;
import java.time.Duration;

/**
 * The backend-side settings that need connection pools of their own: routes sharing them share connections. {@code
 * tls} is the pool's TLS to its backends, or null for plain connections.
 */
public record UpstreamKey(
    Duration connectTimeout, Duration idleTimeout, Duration keepAliveTimeout, int maxConnections, int queueSize,
    Duration queueTimeout, ProxyProtocolVersion sendProxyProtocol, BackendTls tls) {
  public static UpstreamKey of(Upstream upstream) {
    return of(upstream, null);
  }

  /** With the pool's TLS to its backends (null: plain). */
  public static UpstreamKey of(Upstream upstream, BackendTls tls) {
    return new UpstreamKey(upstream.connectTimeout(), upstream.idleTimeout(), upstream.keepAliveTimeout(),
        upstream.maxConnections(), upstream.queueSize(), upstream.queueTimeout(), upstream.sendProxyProtocol(), tls);
  }

  /** Plain connections to the backends. */
  public UpstreamKey(Duration connectTimeout, Duration idleTimeout, Duration keepAliveTimeout, int maxConnections,
      int queueSize, Duration queueTimeout, ProxyProtocolVersion sendProxyProtocol) {
    this(connectTimeout, idleTimeout, keepAliveTimeout, maxConnections, queueSize, queueTimeout, sendProxyProtocol, null);
  }

  public UpstreamKey withTls(BackendTls tls) {
    return new UpstreamKey(connectTimeout, idleTimeout, keepAliveTimeout, maxConnections, queueSize, queueTimeout,
        sendProxyProtocol, tls);
  }

  /** Whether connections are private to one client: the PROXY header each begins with names that client. */
  public boolean perClient() {
    return sendProxyProtocol != ProxyProtocolVersion.OFF;
  }
}
