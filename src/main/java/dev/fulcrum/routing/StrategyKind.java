package dev.fulcrum.routing;

import dev.fulcrum.config.StrategySettings;
import java.util.Arrays;
import java.util.stream.Collectors;

/** The balancing strategies a pool can name in config, with their config names. */
public enum StrategyKind {
  ROUND_ROBIN("round-robin"),
  WEIGHTED_ROUND_ROBIN("weighted-round-robin"),
  LEAST_CONNECTIONS("least-connections"),
  RANDOM("random"),
  POWER_OF_TWO_CHOICES("power-of-two-choices"),
  CONSISTENT_HASH("consistent-hash"),
  LEAST_RESPONSE_TIME("least-response-time");

  private final String configName;

  StrategyKind(String configName) {
    this.configName = configName;
  }

  public String configName() {
    return configName;
  }

  public static StrategyKind fromName(String name) {
    for (StrategyKind kind : values()) {
      if (kind.configName.equals(name)) return kind;
    }
    throw new IllegalArgumentException(
        "unknown strategy '" + name + "' (known: "
            + Arrays.stream(values()).map(StrategyKind::configName).collect(Collectors.joining(", ")) + ")");
  }

  /**
   * Whether slow start applies. Round robin ignores weights; consistent hashing would move keys back and forth on
   * every ramp step, so it keeps full weights (as Envoy does).
   */
  boolean rampsWeights() {
    return this != ROUND_ROBIN && this != CONSISTENT_HASH;
  }

  /**
   * Builds the strategy for a new table. {@code weights} are the backends' effective weights (slow start applied), in
   * the table's order. {@code previous} is the strategy of the table being replaced, so state that must outlive a swap
   * (a round-robin position, a smooth-WRR cycle, a hash table) is carried by the one writer that builds tables, never
   * shared between two.
   */
  Strategy build(RoutedBackend[] backends, int[] weights, StrategySettings settings, Strategy previous) {
    if (backends.length == 0) return Strategy.NONE;
    return switch (this) {
      case ROUND_ROBIN -> RoundRobin.carrying(previous);
      case WEIGHTED_ROUND_ROBIN -> SmoothWeightedRoundRobin.build(weights, previous);
      case LEAST_CONNECTIONS -> new LeastConnections(backends, weights);
      case RANDOM -> new WeightedRandom(weights);
      case POWER_OF_TWO_CHOICES -> new PowerOfTwoChoices(backends, weights);
      case CONSISTENT_HASH -> ConsistentHash.build(backends, weights, settings.boundedLoad(), previous);
      case LEAST_RESPONSE_TIME -> new LeastResponseTime(backends, weights);
    };
  }
}
