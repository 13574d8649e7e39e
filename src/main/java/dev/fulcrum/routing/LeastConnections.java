package dev.fulcrum.routing;

import java.util.Arrays;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The backend with the lowest (load + 1) / weight, where load is open connections plus requests in flight; the +1
 * counts the connection being placed, so idle backends are told apart by weight. The scan starts at a random
 * position, so ties are spread instead of always going to the first one.
 *
 * <p>This is the one strategy that looks at every backend, so its loop is kept lean and in integers: dividing by the
 * weight is a multiplication by an integer inverse, scale / weight. The scale is the least common multiple of the
 * weights, so equal ratios give equal scores and ties are found exactly; only for weights whose multiple exceeds 2^32
 * is it 2^32, where scores closer than that count as different. A pool's load
 * counters sit side by side in {@link PoolLoad}, and the scan walks the range of counters that holds this table's
 * backends as flat arrays. A counter in that range that is not one of this table's backends (down, removed) is ORed
 * with 2^30 first, which puts it above any real load, so it never wins. When the range is much wider than the table
 * (a pool whose backends changed many times), the scan goes through the table's backends one by one instead.
 */
final class LeastConnections implements Strategy {
  private static final int NOT_IN_TABLE = 1 << 30;

  private final LoadView loads;
  /** The pool's counters covering the table's backends from {@code first}; null to scan backend by backend. */
  private final int[] counters;

  private final int first;
  /** By position in the scan: scale / weight. */
  private final long[] inverseWeights;
  /** By position in the scan: 0 for this table's backends, {@link #NOT_IN_TABLE} for other counters. */
  private final int[] notInTable;
  /** By position in the scan: the backend's index in the table. */
  private final int[] backendAt;

  LeastConnections(RoutedBackend[] backends, int[] weights) {
    int n = backends.length;
    loads = new LoadView(backends);
    int lo = Integer.MAX_VALUE;
    int hi = Integer.MIN_VALUE;
    for (int i = 0; i < n; i++) {
      lo = Math.min(lo, loads.index(i));
      hi = Math.max(hi, loads.index(i));
    }
    boolean range = loads.chunk() != null && hi - lo + 1 <= 2 * n + 16;
    counters = range ? loads.chunk() : null;
    first = range ? lo : 0;
    int positions = range ? hi - lo + 1 : n;
    inverseWeights = new long[positions];
    notInTable = new int[positions];
    backendAt = new int[positions];
    long scale = scale(weights);
    Arrays.fill(inverseWeights, scale);
    Arrays.fill(notInTable, NOT_IN_TABLE);
    for (int i = 0; i < n; i++) {
      int position = range ? loads.index(i) - lo : i;
      inverseWeights[position] = scale / weights[i];
      notInTable[position] = 0;
      backendAt[position] = i;
    }
  }

  /** The least common multiple of the weights, or 2^32 if that is larger. */
  private static long scale(int[] weights) {
    long lcm = 1;
    for (int w : weights) {
      long a = lcm;
      long b = w;
      while (b != 0) {
        long t = a % b;
        a = b;
        b = t;
      }
      lcm = lcm / a * w;
      if (lcm > 1L << 32) return 1L << 32;
    }
    return lcm;
  }

  @Override
  public int pick(RoutingTable table, long requestKey) {
    return backendAt[counters != null ? scanRange() : scanBackends()];
  }

  private int scanRange() {
    int[] counters = this.counters;
    long[] inverseWeights = this.inverseWeights;
    int[] notInTable = this.notInTable;
    int positions = inverseWeights.length;
    int start = ThreadLocalRandom.current().nextInt(positions);
    int best = -1;
    long bestScore = Long.MAX_VALUE;
    for (int p = start, c = first + start; p < positions; p++, c++) {
      long score = ((counters[c] | notInTable[p]) + 1L) * inverseWeights[p];
      if (score < bestScore) {
        best = p;
        bestScore = score;
      }
    }
    for (int p = 0, c = first; p < start; p++, c++) {
      long score = ((counters[c] | notInTable[p]) + 1L) * inverseWeights[p];
      if (score < bestScore) {
        best = p;
        bestScore = score;
      }
    }
    return best;
  }

  private int scanBackends() {
    int n = inverseWeights.length;
    int start = ThreadLocalRandom.current().nextInt(n);
    int best = -1;
    long bestScore = Long.MAX_VALUE;
    for (int i = start; i < n; i++) {
      long score = (loads.load(i) + 1L) * inverseWeights[i];
      if (score < bestScore) {
        best = i;
        bestScore = score;
      }
    }
    for (int i = 0; i < start; i++) {
      long score = (loads.load(i) + 1L) * inverseWeights[i];
      if (score < bestScore) {
        best = i;
        bestScore = score;
      }
    }
    return best;
  }
}
