package dev.fulcrum.config;

import java.time.Duration;
import java.util.List;

/** Everything {@code fulcrum.*} in the config, parsed and validated once at start-up. */
public record FulcrumSettings(
    List<PoolSettings> pools,
    List<TcpListenerSettings> tcpListeners,
    DemoSettings demo,
    Duration drainTimeout,
    int eventLoops,
    StrategySettings balancingDefaults,
    HttpSettings http,
    DnsSettings dns,
    List<DiscoverySettings> discovery) {

  public FulcrumSettings {
    discovery = List.copyOf(discovery);
    pools = List.copyOf(pools);
    tcpListeners = List.copyOf(tcpListeners);
  }

  /** The pool's TLS to its backends in the config, if it has any (pools created at runtime say theirs themselves). */
  public java.util.Optional<BackendTlsSettings> backendTls(String pool) {
    return pools.stream().filter(p -> p.name().equals(pool)).findFirst().flatMap(PoolSettings::tls);
  }

  /** Every configured pool's TLS to its backends, by pool name, for the pools that have it. */
  public java.util.Map<String, BackendTlsSettings> backendTls() {
    java.util.Map<String, BackendTlsSettings> all = new java.util.TreeMap<>();
    pools.forEach(p -> p.tls().ifPresent(tls -> all.put(p.name(), tls)));
    return all;
  }

  public PoolSettings pool(String name) {
    return pools.stream().filter(p -> p.name().equals(name)).findFirst().orElseThrow();
  }

  /**
   * The balancing settings (hash key, bounded load, slow start) of a pool on this node: its own from the config, else
   * {@code fulcrum.balancing}, also for pools created at runtime. They tune the strategy, which itself is journaled.
   */
  public StrategySettings balancingFor(String pool) {
    return pools.stream()
        .filter(p -> p.name().equals(pool))
        .map(PoolSettings::strategySettings)
        .findFirst()
        .orElse(balancingDefaults);
  }

  /** The pool's DNS discovery on this node, if it has {@code discovery = dns}. */
  public java.util.Optional<DiscoverySettings> discoveryFor(String pool) {
    return discovery.stream().filter(d -> d.pool().equals(pool)).findFirst();
  }
}
