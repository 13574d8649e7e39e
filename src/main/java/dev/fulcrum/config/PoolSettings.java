package dev.fulcrum.config;

import dev.fulcrum.routing.StrategyKind;
import java.util.List;
import java.util.Optional;

/**
 * A pool's definition. {@code tls}: TLS to its backends, or empty for plain connections; journals and replicated
 * states written before pools had it read back with none.
 */
public record PoolSettings(
    String name,
    StrategyKind strategy,
    List<BackendSettings> backends,
    HealthCheckSettings healthCheck,
    StrategySettings strategySettings,
    Optional<BackendTlsSettings> tls) {
  public PoolSettings {
    backends = List.copyOf(backends);
    tls = tls == null ? Optional.empty() : tls;
  }

  public PoolSettings(String name, StrategyKind strategy, List<BackendSettings> backends, HealthCheckSettings healthCheck,
      StrategySettings strategySettings) {
    this(name, strategy, backends, healthCheck, strategySettings, Optional.empty());
  }

  public PoolSettings withStrategySettings(StrategySettings settings) {
    return new PoolSettings(name, strategy, backends, healthCheck, settings, tls);
  }

  public PoolSettings withTls(Optional<BackendTlsSettings> tls) {
    return new PoolSettings(name, strategy, backends, healthCheck, strategySettings, tls);
  }

  /** A pool with the default balancing settings. */
  public PoolSettings(String name, StrategyKind strategy, List<BackendSettings> backends, HealthCheckSettings healthCheck) {
    this(name, strategy, backends, healthCheck, StrategySettings.DEFAULT);
  }
}
