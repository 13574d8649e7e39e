package dev.fulcrum.config;

import dev.fulcrum.routing.StrategyKind;
import java.util.List;

public record PoolSettings(String name, StrategyKind strategy, List<BackendSettings> backends, HealthCheckSettings healthCheck) {
  public PoolSettings {
    backends = List.copyOf(backends);
  }
}
