package dev.fulcrum.config;

import java.time.Duration;
import java.util.List;

/** Everything {@code fulcrum.*} in the config, parsed and validated once at start-up. */
public record FulcrumSettings(
    List<PoolSettings> pools,
    List<TcpListenerSettings> tcpListeners,
    DemoSettings demo,
    Duration drainTimeout,
    HttpSettings http) {

  public FulcrumSettings {
    pools = List.copyOf(pools);
    tcpListeners = List.copyOf(tcpListeners);
  }

  public PoolSettings pool(String name) {
    return pools.stream().filter(p -> p.name().equals(name)).findFirst().orElseThrow();
  }
}
