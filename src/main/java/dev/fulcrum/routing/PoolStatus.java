package dev.fulcrum.routing;

import dev.fulcrum.backend.Health;
import dev.fulcrum.config.HostPort;
import java.util.List;

/** A node-local view of a pool: each backend with its health on this node and its live connection count. */
public record PoolStatus(String pool, long tableVersion, List<Backend> backends) {
  public record Backend(HostPort address, int weight, Health health, int activeConnections) {}

  public PoolStatus {
    backends = List.copyOf(backends);
  }
}
