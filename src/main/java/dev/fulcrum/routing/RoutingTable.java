package dev.fulcrum.routing;

/**
 * An immutable snapshot of a pool's eligible backends, published by the pool's router and read lock-free by the data
 * plane. Only eligible backends are in it: healthy (or not yet checked), with a weight above zero.
 */
public final class RoutingTable {
  private final String pool;
  private final long version;
  private final RoutedBackend[] backends;
  private final Strategy strategy;

  RoutingTable(String pool, long version, RoutedBackend[] backends, Strategy strategy) {
    this.pool = pool;
    this.version = version;
    this.backends = backends;
    this.strategy = strategy;
  }

  public static RoutingTable empty(String pool) {
    return new RoutingTable(pool, 0, new RoutedBackend[0], (table, key) -> -1);
  }

  public String pool() {
    return pool;
  }

  /** Increases with every table the router publishes for this pool. */
  public long version() {
    return version;
  }

  public int size() {
    return backends.length;
  }

  public RoutedBackend get(int index) {
    return backends[index];
  }

  Strategy strategy() {
    return strategy;
  }

  /** The strategy's choice for this key, as an index for {@link #get}; -1 when no backend is eligible. */
  public int pick(long requestKey) {
    return strategy.pick(this, requestKey);
  }
}
