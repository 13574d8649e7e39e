package dev.fulcrum.config;

import java.time.Duration;

/**
 * Outlier detection (Envoy's model): after this many consecutive failures of one kind a backend is ejected from this
 * node's routing for {@code baseEjectionTime} times the number of times it was ejected (at most
 * {@code maxEjectionTime}); at most {@code maxEjectionPercent} of a pool's backends (but one, and never the last) are
 * ejected at once. A count of 0 turns that kind off.
 *
 * @param consecutive5xx responses 500-599 in a row
 * @param consecutiveGatewayErrors 502, 503, 504, invalid responses and resets in a row
 * @param consecutiveLocalFailures failures of Fulcrum's own attempts in a row: connect refused or timed out, reset
 *     before a response, response timeout
 */
public record OutlierSettings(
    int consecutive5xx,
    int consecutiveGatewayErrors,
    int consecutiveLocalFailures,
    Duration baseEjectionTime,
    Duration maxEjectionTime,
    int maxEjectionPercent) {
  /** The reference.conf defaults. */
  public static final OutlierSettings DEFAULT =
      new OutlierSettings(5, 5, 5, Duration.ofSeconds(30), Duration.ofMinutes(5), 50);

  /** Never ejects. */
  public static final OutlierSettings OFF =
      new OutlierSettings(0, 0, 0, Duration.ofSeconds(30), Duration.ofMinutes(5), 0);

  public OutlierSettings {
    if (baseEjectionTime.isNegative() || baseEjectionTime.isZero()) {
      throw new IllegalArgumentException("base-ejection-time must be positive, got " + baseEjectionTime);
    }
    if (maxEjectionTime.compareTo(baseEjectionTime) < 0) {
      throw new IllegalArgumentException("max-ejection-time must be at least base-ejection-time, got " + maxEjectionTime);
    }
  }
}
