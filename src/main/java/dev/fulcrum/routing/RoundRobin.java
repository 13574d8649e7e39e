package dev.fulcrum.routing;

import java.util.concurrent.atomic.AtomicLong;

/** Each backend in turn, ignoring weights. The position is carried from one table to the next by the router. */
final class RoundRobin implements Strategy {
  private final AtomicLong next = new AtomicLong();

  static RoundRobin carrying(Strategy previous) {
    return previous instanceof RoundRobin rr ? rr : new RoundRobin();
  }

  @Override
  public int pick(RoutingTable table, long requestKey) {
    int n = table.size();
    if (n == 0) return -1;
    return (int) (next.getAndIncrement() % n);
  }
}
