package dev.fulcrum.pool;

import dev.fulcrum.config.DiscoverySettings;
import dev.fulcrum.discovery.DnsResolver;
import java.util.Optional;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * What a pool's entity needs to follow DNS names: the pools' discovery settings of the node it runs on, the node's
 * resolver, and where a failed resolution is counted ({@code pool}, {@code name}).
 */
public record PoolDiscovery(
    Function<String, Optional<DiscoverySettings>> settings, DnsResolver resolver, BiConsumer<String, String> failed) {

  /** No pool follows names. */
  public static final PoolDiscovery NONE = new PoolDiscovery(pool -> Optional.empty(), null, (pool, name) -> {});
}
