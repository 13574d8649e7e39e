package dev.fulcrum.routing;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * The summed load (connections plus requests in flight) of all backends of one pool, kept next to the per-backend
 * counters so that consistent hashing with bounded loads reads the total in O(1) instead of summing every backend on
 * each pick. It includes backends not currently in the table (draining, down) that still have work open.
 */
final class PoolLoad {
  private final AtomicInteger total = new AtomicInteger();

  void add(int delta) {
    total.getAndAdd(delta);
  }

  int total() {
    return total.get();
  }
}
