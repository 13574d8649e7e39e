package dev.fulcrum.http.proxy;

import dev.fulcrum.config.BackendProtocol;
import dev.fulcrum.config.HttpRouteSettings.Upstream;
import dev.fulcrum.config.ProxyProtocolVersion;
import dev.fulcrum.tls.BackendTls;
import java.time.Duration;

/**
 * The backend-side settings that need connection pools of their own: routes sharing them share connections. {@code
 * tls} is the pool's TLS to its backends, or null for plain connections; {@code protocol} what is spoken on them.
 */
public record UpstreamKey(
    Duration connectTimeout, Duration idleTimeout, Duration keepAliveTimeout, int maxConnections, int queueSize,
    Duration queueTimeout, ProxyProtocolVersion sendProxyProtocol, BackendTls tls, BackendProtocol protocol) {
  public UpstreamKey {
    if (protocol == null) protocol = BackendProtocol.HTTP_1_1;
  }

  public static UpstreamKey of(Upstream upstream) {
    return of(upstream, null);
  }

  /** With the pool's TLS to its backends (null: plain), over HTTP/1.1. */
  public static UpstreamKey of(Upstream upstream, BackendTls tls) {
    return of(upstream, tls, null);
  }

  /** With the pool's TLS to its backends (null: plain) and protocol (null: HTTP/1.1). */
  public static UpstreamKey of(Upstream upstream, BackendTls tls, BackendProtocol protocol) {
    return new UpstreamKey(upstream.connectTimeout(), upstream.idleTimeout(), upstream.keepAliveTimeout(),
        upstream.maxConnections(), upstream.queueSize(), upstream.queueTimeout(), upstream.sendProxyProtocol(), tls,
        protocol);
  }

  /** Plain or TLS connections speaking HTTP/1.1. */
  public UpstreamKey(Duration connectTimeout, Duration idleTimeout, Duration keepAliveTimeout, int maxConnections,
      int queueSize, Duration queueTimeout, ProxyProtocolVersion sendProxyProtocol, BackendTls tls) {
    this(connectTimeout, idleTimeout, keepAliveTimeout, maxConnections, queueSize, queueTimeout, sendProxyProtocol, tls,
        null);
  }

  /** Plain connections to the backends. */
  public UpstreamKey(Duration connectTimeout, Duration idleTimeout, Duration keepAliveTimeout, int maxConnections,
      int queueSize, Duration queueTimeout, ProxyProtocolVersion sendProxyProtocol) {
    this(connectTimeout, idleTimeout, keepAliveTimeout, maxConnections, queueSize, queueTimeout, sendProxyProtocol,
        null, null);
  }

  public UpstreamKey with(BackendTls tls, BackendProtocol protocol) {
    return new UpstreamKey(connectTimeout, idleTimeout, keepAliveTimeout, maxConnections, queueSize, queueTimeout,
        sendProxyProtocol, tls, protocol);
  }

  /** Whether connections are private to one client: the PROXY header each begins with names that client. */
  public boolean perClient() {
    return sendProxyProtocol != ProxyProtocolVersion.OFF;
  }
}
