package dev.fulcrum.config;

import dev.fulcrum.routing.StrategyKind;
import java.util.List;

public record PoolSettings(
    String name,
    StrategyKind strategy,
    List<BackendSettings> backends,
    HealthCheckSettings healthCheck,
    StrategySettings strategySettings) {
  public PoolSettings {
    backends = List.copyOf(backends);
  }

  public PoolSettings withStrategySettings(StrategySettings settings) {
    return new PoolSettings(name, strategy, backends, healthCheck, settings);
  }

  /** A pool with the default balancing settings. */
  public PoolSettings(String name, StrategyKind strategy, List<BackendSettings> backends, HealthCheckSettings healthCheck) {
    this(name, strategy, backends, healthCheck, StrategySettings.DEFAULT);
  }
}
