package dev.fulcrum.routing;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;

/**
 * nginx's smooth weighted round robin (weights 5, 1, 1 give a, a, b, a, c, a, a): each backend's share is exact over
 * every cycle of (sum of weights) picks, and heavy backends are interleaved with light ones instead of served in bursts.
 *
 * <p>nginx keeps a "current weight" per backend and updates all of them on every pick, which needs a lock. The
 * sequence is periodic, so here one full cycle is computed when the table is built and picks just index it with an
 * atomic counter: lock-free, allocation-free, O(1), and the shares stay exact per cycle however many threads pick.
 */
final class SmoothWeightedRoundRobin implements Strategy {
  /**
   * Bounds on the cycle and on the work to compute it (cycle length × backends). Pools beyond them (say a thousand
   * backends with distinct weights in the hundreds) get their weights scaled down proportionally, which keeps each
   * share within about 1% of the configured one.
   */
  static final int MAX_CYCLE = 1 << 20;

  static final long MAX_WORK = 1L << 26;

  private final int[] weights;
  private final int[] cycle;
  private final AtomicLong next;

  private SmoothWeightedRoundRobin(int[] weights, int[] cycle, AtomicLong next) {
    this.weights = weights;
    this.cycle = cycle;
    this.next = next;
  }

  /** Keeps the previous cycle and position when the weights are the same, so a table swap does not restart it. */
  static SmoothWeightedRoundRobin build(int[] weights, Strategy previous) {
    int[] reduced = reduce(weights);
    if (previous instanceof SmoothWeightedRoundRobin p && Arrays.equals(p.weights, reduced)) return p;
    return new SmoothWeightedRoundRobin(reduced, cycle(reduced), new AtomicLong());
  }

  @Override
  public int pick(RoutingTable table, long requestKey) {
    return cycle[(int) (next.getAndIncrement() % cycle.length)];
  }

  static int[] cycle(int[] weights) {
    int n = weights.length;
    long total = 0;
    for (int w : weights) total += w;
    int[] cycle = new int[(int) total];
    long[] current = new long[n];
    for (int t = 0; t < cycle.length; t++) {
      int best = 0;
      for (int i = 0; i < n; i++) {
        current[i] += weights[i];
        if (current[i] > current[best]) best = i;
      }
      current[best] -= total;
      cycle[t] = best;
    }
    return cycle;
  }

  /** Divides by the common divisor (so 10, 20 cycles like 1, 2), then scales down pools beyond the bounds. */
  static int[] reduce(int[] weights) {
    int gcd = 0;
    for (int w : weights) gcd = gcd(gcd, w);
    long total = 0;
    int[] reduced = new int[weights.length];
    for (int i = 0; i < weights.length; i++) {
      reduced[i] = weights[i] / gcd;
      total += reduced[i];
    }
    long limit = Math.min(MAX_CYCLE, MAX_WORK / Math.max(1, weights.length));
    if (total <= limit) return reduced;
    double scale = (double) limit / total;
    for (int i = 0; i < reduced.length; i++) reduced[i] = Math.max(1, (int) Math.round(reduced[i] * scale));
    return reduced;
  }

  private static int gcd(int a, int b) {
    while (b != 0) {
      int t = a % b;
      a = b;
      b = t;
    }
    return a;
  }
}
