package dev.fulcrum.config;

import dev.fulcrum.routing.HashKey;
import java.time.Duration;

/**
 * A pool's balancing settings beyond the strategy's name.
 *
 * @param hashKey what consistent hashing hashes
 * @param boundedLoad consistent hashing's load bound factor (a backend takes at most this × its weighted share of the
 *     pool's load); 0 for none
 * @param slowStart the window over which a backend that became eligible ramps up to its weight; zero for none
 * @param outliers when a backend is ejected for failing requests
 */
public record StrategySettings(HashKey hashKey, double boundedLoad, Duration slowStart, OutlierSettings outliers) {
  /** What code that defines pools without these settings (not from config) gets: the reference.conf defaults. */
  public static final StrategySettings DEFAULT =
      new StrategySettings(HashKey.CLIENT_IP, 1.25, Duration.ZERO, OutlierSettings.DEFAULT);

  /** With the default outlier detection. */
  public StrategySettings(HashKey hashKey, double boundedLoad, Duration slowStart) {
    this(hashKey, boundedLoad, slowStart, OutlierSettings.DEFAULT);
  }

  public StrategySettings {
    if (boundedLoad != 0 && !(boundedLoad > 1 && boundedLoad <= 100)) {
      throw new IllegalArgumentException("bounded-load must be 0 (off) or above 1 and at most 100, got " + boundedLoad);
    }
    if (slowStart.isNegative()) throw new IllegalArgumentException("slow-start must not be negative, got " + slowStart);
  }
}
