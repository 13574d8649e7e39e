package dev.fulcrum.routing;

/**
 * Chooses a backend from a routing table: a pure function of the table, the per-backend counters and the request key.
 * It must not lock, allocate or block: it runs once per connection or request on the data plane.
 *
 * <p>A strategy is built for one table's backends (in the same order) by {@link StrategyKind#build}; only the table
 * it was built for calls it.
 */
public interface Strategy {
  /** For a table with no backend. */
  Strategy NONE = (table, key) -> -1;

  /** Returns the index of the chosen backend in {@code table}, or -1 when the table is empty. */
  int pick(RoutingTable table, long requestKey);

  /** Whether the choice depends on the request key, i.e. whether listeners need to compute one. */
  default boolean usesKey() {
    return false;
  }
}
