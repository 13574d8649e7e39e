package dev.fulcrum.routing;

/**
 * Chooses a backend from a routing table: a pure function of the table, the per-backend counters and the request key.
 * It must not lock, allocate or block: it runs once per connection or request on the data plane.
 */
public interface Strategy {
  /** Returns the index of the chosen backend in {@code table}, or -1 when the table is empty. */
  int pick(RoutingTable table, long requestKey);
}
