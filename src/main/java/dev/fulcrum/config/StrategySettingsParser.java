package dev.fulcrum.config;

import com.typesafe.config.ConfigException;
import dev.fulcrum.routing.HashKey;
import java.time.Duration;
import java.util.function.Function;

/**
 * Reads a pool's balancing settings: each key from the pool itself when it sets it, else from
 * {@code fulcrum.balancing}; errors name the path the value came from.
 */
final class StrategySettingsParser {
  private StrategySettingsParser() {}

  static StrategySettings parse(ConfigReader pool, ConfigReader defaults) {
    ConfigReader hashKeyFrom = from(pool, defaults, "hash-key");
    String hashKeyText = read(hashKeyFrom, "hash-key", hashKeyFrom.config()::getString);
    HashKey hashKey;
    try {
      hashKey = HashKey.parse(hashKeyText);
    } catch (IllegalArgumentException e) {
      throw hashKeyFrom.error("hash-key", e.getMessage());
    }

    ConfigReader boundFrom = from(pool, defaults, "bounded-load");
    double boundedLoad = boundFrom.decimal("bounded-load");
    if (boundedLoad != 0 && !(boundedLoad > 1 && boundedLoad <= 100)) {
      throw boundFrom.error("bounded-load", "must be 0 (off) or a factor above 1 and at most 100, got " + boundedLoad);
    }

    ConfigReader slowStartFrom = from(pool, defaults, "slow-start");
    Duration slowStart = read(slowStartFrom, "slow-start", slowStartFrom.config()::getDuration);
    if (slowStart.isNegative()) throw slowStartFrom.error("slow-start", "must be 0s (off) or a positive duration");
    return new StrategySettings(hashKey, boundedLoad, slowStart, outliers(pool, defaults));
  }

  /** The pool's outlier-detection block over the default one: each key from the most specific that sets it. */
  private static OutlierSettings outliers(ConfigReader pool, ConfigReader defaults) {
    ConfigReader from = pool.has("outlier-detection")
        ? new ConfigReader(pool.config().getConfig("outlier-detection")
            .withFallback(defaults.config().getConfig("outlier-detection")), pool.full("outlier-detection"))
        : defaults.child("outlier-detection");
    Duration base = from.positiveDuration("base-ejection-time");
    Duration max = from.positiveDuration("max-ejection-time");
    if (max.compareTo(base) < 0) throw from.error("max-ejection-time", "must be at least base-ejection-time (" + base + ")");
    return new OutlierSettings(
        from.intIn("consecutive-5xx", 0, 1000),
        from.intIn("consecutive-gateway-errors", 0, 1000),
        from.intIn("consecutive-local-origin-failures", 0, 1000),
        base,
        max,
        from.intIn("max-ejection-percent", 0, 100));
  }

  private static ConfigReader from(ConfigReader pool, ConfigReader defaults, String key) {
    return pool.has(key) ? pool : defaults;
  }

  private static <T> T read(ConfigReader reader, String key, Function<String, T> getter) {
    try {
      return getter.apply(key);
    } catch (ConfigException.Missing e) {
      throw reader.error(key, "is missing");
    } catch (ConfigException.WrongType | ConfigException.BadValue e) {
      // Typesafe Config prefixes its messages with origin and path; keep only the part that says what is wrong.
      String message = e.getMessage();
      int at = message.lastIndexOf(": ");
      throw reader.error(key, at >= 0 ? message.substring(at + 2) : message);
    }
  }
}
