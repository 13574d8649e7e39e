package dev.fulcrum.routing;

import dev.fulcrum.config.HostPort;
import dev.fulcrum.config.StrategySettings;
import java.time.Duration;

/** Routing tables built the way the router builds them, over real counters, for strategy tests and benchmarks. */
final class Tables {
  private Tables() {}

  /** Backends 10.0.0.1:80, 10.0.0.2:80, ... with these weights, sharing one pool load total. */
  static RoutedBackend[] backends(int... weights) {
    PoolLoad pool = new PoolLoad();
    RoutedBackend[] backends = new RoutedBackend[weights.length];
    for (int i = 0; i < weights.length; i++) backends[i] = backend(i, weights[i], pool);
    return backends;
  }

  static RoutedBackend backend(int i, int weight, PoolLoad pool) {
    HostPort address = new HostPort("10." + (i >> 16 & 255) + "." + (i >> 8 & 255) + "." + (i & 255), 80);
    return new RoutedBackend(address, weight, new BackendStats(pool), null);
  }

  static RoutingTable table(StrategyKind kind, RoutedBackend... backends) {
    return table(kind, settings(0), null, backends);
  }

  static RoutingTable table(StrategyKind kind, StrategySettings settings, Strategy previous, RoutedBackend... backends) {
    int[] weights = new int[backends.length];
    for (int i = 0; i < backends.length; i++) weights[i] = backends[i].weight() * SlowStart.STEPS;
    Strategy strategy = kind.build(backends, weights, settings, previous);
    return new RoutingTable("test", 1, backends, weights, strategy, settings.hashKey());
  }

  static StrategySettings settings(double boundedLoad) {
    return new StrategySettings(HashKey.CLIENT_IP, boundedLoad, Duration.ZERO);
  }
}
