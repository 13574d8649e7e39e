package dev.fulcrum.http.proxy;

import dev.fulcrum.config.HttpRouteSettings.Upstream;
import java.time.Duration;

/** The backend-side settings that need connection pools of their own: routes sharing them share connections. */
public record UpstreamKey(
    Duration connectTimeout, Duration idleTimeout, Duration keepAliveTimeout, int maxConnections, int queueSize,
    Duration queueTimeout) {
  public static UpstreamKey of(Upstream upstream) {
    return new UpstreamKey(upstream.connectTimeout(), upstream.idleTimeout(), upstream.keepAliveTimeout(),
        upstream.maxConnections(), upstream.queueSize(), upstream.queueTimeout());
  }
}
