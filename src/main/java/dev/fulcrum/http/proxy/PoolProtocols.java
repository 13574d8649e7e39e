package dev.fulcrum.http.proxy;

import dev.fulcrum.config.BackendProtocol;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Each pool's protocol to its backends, from the node's config at start-up (node-local, as the pool's TLS is, and
 * looked up the same way by pool name when routes are built). Process-wide: the nodes of one JVM (tests) share it.
 */
public final class PoolProtocols {
  private static final ConcurrentHashMap<String, BackendProtocol> POOLS = new ConcurrentHashMap<>();

  private PoolProtocols() {}

  public static void configure(Map<String, BackendProtocol> pools) {
    POOLS.putAll(pools);
  }

  /** The pool's protocol; HTTP/1.1 for pools without one (also every pool created at runtime). */
  public static BackendProtocol forPool(String pool) {
    return POOLS.getOrDefault(pool, BackendProtocol.HTTP_1_1);
  }
}
