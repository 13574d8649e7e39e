package dev.fulcrum.config;

import dev.fulcrum.routing.StrategyKind;
import java.util.List;
import java.util.Optional;

/**
 * A pool's definition. {@code tls}: TLS to its backends, or empty for plain connections; {@code protocol}: what is
 * spoken on those connections. Journals and replicated states written before pools had them read back with no TLS
 * and HTTP/1.1.
 */
public record PoolSettings(
    String name,
    StrategyKind strategy,
    List<BackendSettings> backends,
    HealthCheckSettings healthCheck,
    StrategySettings strategySettings,
    Optional<BackendTlsSettings> tls,
    BackendProtocol protocol) {
  public PoolSettings {
    backends = List.copyOf(backends);
    tls = tls == null ? Optional.empty() : tls;
    protocol = protocol == null ? BackendProtocol.HTTP_1_1 : protocol;
  }

  public PoolSettings(String name, StrategyKind strategy, List<BackendSettings> backends, HealthCheckSettings healthCheck,
      StrategySettings strategySettings, Optional<BackendTlsSettings> tls) {
    this(name, strategy, backends, healthCheck, strategySettings, tls, null);
  }

  public PoolSettings(String name, StrategyKind strategy, List<BackendSettings> backends, HealthCheckSettings healthCheck,
      StrategySettings strategySettings) {
    this(name, strategy, backends, healthCheck, strategySettings, Optional.empty());
  }

  public PoolSettings withStrategySettings(StrategySettings settings) {
    return new PoolSettings(name, strategy, backends, healthCheck, settings, tls, protocol);
  }

  public PoolSettings withTls(Optional<BackendTlsSettings> tls) {
    return new PoolSettings(name, strategy, backends, healthCheck, strategySettings, tls, protocol);
  }

  public PoolSettings withProtocol(BackendProtocol protocol) {
    return new PoolSettings(name, strategy, backends, healthCheck, strategySettings, tls, protocol);
  }

  /** A pool with the default balancing settings. */
  public PoolSettings(String name, StrategyKind strategy, List<BackendSettings> backends, HealthCheckSettings healthCheck) {
    this(name, strategy, backends, healthCheck, StrategySettings.DEFAULT);
  }
}
