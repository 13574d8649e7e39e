package dev.fulcrum.routing;

import java.net.InetAddress;
import java.util.Optional;
import java.util.function.Function;

/**
 * An immutable snapshot of a pool's eligible backends, published by the pool's router and read lock-free by the data
 * plane. Only eligible backends are in it: healthy (or not yet checked), with a weight above zero.
 */
public final class RoutingTable {
  private final String pool;
  private final long version;
  private final RoutedBackend[] backends;
  private final int[] weights;
  private final Strategy strategy;
  private final HashKey hashKey;
  private final dev.fulcrum.config.BackendProtocol protocol;

  /** {@code weights} are effective weights in {@link SlowStart#STEPS}ths of a configured weight unit. */
  RoutingTable(String pool, long version, RoutedBackend[] backends, int[] weights, Strategy strategy, HashKey hashKey) {
    this(pool, version, backends, weights, strategy, hashKey, dev.fulcrum.config.BackendProtocol.HTTP_1_1);
  }

  /** {@code protocol}: what the pool's backends are spoken to in, as of this table. */
  RoutingTable(String pool, long version, RoutedBackend[] backends, int[] weights, Strategy strategy, HashKey hashKey,
      dev.fulcrum.config.BackendProtocol protocol) {
    this.protocol = protocol;
    this.pool = pool;
    this.version = version;
    this.backends = backends;
    this.weights = weights;
    this.strategy = strategy;
    this.hashKey = hashKey;
  }

  public static RoutingTable empty(String pool) {
    return new RoutingTable(pool, 0, new RoutedBackend[0], new int[0], Strategy.NONE, HashKey.CLIENT_IP);
  }

  public String pool() {
    return pool;
  }

  /**
   * The protocol the pool's backends are spoken to in. Read once per request, before its backend is picked: a request
   * keeps the protocol it started with when the pool's changes while it is under way.
   */
  public dev.fulcrum.config.BackendProtocol protocol() {
    return protocol;
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

  /** The weight the strategy uses for a backend: its configured weight, less while it is in slow start. */
  public double effectiveWeight(int index) {
    return (double) weights[index] / SlowStart.STEPS;
  }

  Strategy strategy() {
    return strategy;
  }

  /** What the pool's key-based strategy hashes; see {@link #requestKey}. */
  public HashKey hashKey() {
    return hashKey;
  }

  /** Whether {@link #pick} looks at the request key; when not, listeners can pass 0 without computing one. */
  public boolean usesKey() {
    return strategy.usesKey();
  }

  /**
   * The key to pass to {@link #pick} for an L7 request, per the pool's {@link #hashKey()}; 0 without looking anything
   * up when the strategy ignores keys.
   */
  public long requestKey(
      InetAddress client,
      Function<String, Optional<String>> header,
      Function<String, Optional<String>> cookie,
      String path) {
    return usesKey() ? hashKey.keyFor(client, header, cookie, path) : 0;
  }

  /** The strategy's choice for this key, as an index for {@link #get}; -1 when no backend is eligible. */
  public int pick(long requestKey) {
    return strategy.pick(this, requestKey);
  }
}
