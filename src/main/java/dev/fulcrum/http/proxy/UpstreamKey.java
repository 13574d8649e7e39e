package dev.fulcrum.http.proxy;

import dev.fulcrum.config.HttpRouteSettings.Upstream;
import dev.fulcrum.config.ProxyProtocolVersion;
import java.time.Duration;

/** The backend-side settings that need connection pools of their own: routes sharing them share connections. */
public record UpstreamKey(
    Duration connectTimeout, Duration idleTimeout, Duration keepAliveTimeout, int maxConnections, int queueSize,
    Duration queueTimeout, ProxyProtocolVersion sendProxyProtocol) {
  public static UpstreamKey of(Upstream upstream) {
    return new UpstreamKey(upstream.connectTimeout(), upstream.idleTimeout(), upstream.keepAliveTimeout(),
        upstream.maxConnections(), upstream.queueSize(), upstream.queueTimeout(), upstream.sendProxyProtocol());
  }

  /** Whether connections are private to one client: the PROXY header each begins with names that client. */
  public boolean perClient() {
    return sendProxyProtocol != ProxyProtocolVersion.OFF;
  }
}
