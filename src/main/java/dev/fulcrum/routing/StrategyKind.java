package dev.fulcrum.routing;

import java.util.Arrays;
import java.util.stream.Collectors;

/** The balancing strategies a pool can name in config, with their config names. */
public enum StrategyKind {
  ROUND_ROBIN("round-robin");

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
   * Builds the strategy for a new table. {@code previous} is the strategy of the table being replaced, so state that must
   * outlive a swap (a round-robin position) is carried by the one writer that builds tables, never shared between two.
   */
  Strategy build(RoutedBackend[] backends, Strategy previous) {
    return switch (this) {
      case ROUND_ROBIN -> previous instanceof RoundRobin rr ? rr : new RoundRobin();
    };
  }
}
