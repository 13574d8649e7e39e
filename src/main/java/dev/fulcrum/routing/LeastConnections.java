package dev.fulcrum.routing;

import java.util.Arrays;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The backend with the lowest (load + 1) / weight, where load is open connections plus requests in flight; the +1
 * counts the connection being placed, so idle backends are told apart by weight. The scan starts at a random
 * position, so ties are spread instead of always going to the first one.
 *
 * <p>This is the one strategy that looks at every backend, so its loop is kept lean. A pool's load counters sit side
 * by side in {@link PoolLoad}; the scan walks the range of counters that holds this table's backends, reading the
 * counters and a per-position inverse weight as two flat arrays. Positions of counters that are not this table's
 * (backends down or removed) have an infinite inverse weight, so they never win. When that range is much wider than
 * the table (a pool whose backends changed many times), the scan goes through the table's backends one by one.
 */
final class LeastConnections implements Strategy {
  /** The pool's counters covering the table's backends, from {@code first}; null to scan backend by backend. */
  private final int[] counters;

  private final int first;
  /** By position in the scan: 1 / weight, or infinity where the counter is not one of this table's backends. */
  private final double[] inverseWeights;
  /** By position in the scan: the backend's index in the table. */
  private final int[] backendAt;

  private final LoadView loads;

  LeastConnections(RoutedBackend[] backends, int[] weights) {
    int n = backends.length;
    loads = new LoadView(backends);
    int[] chunk = loads.chunk();
    int lo = Integer.MAX_VALUE;
    int hi = Integer.MIN_VALUE;
    for (int i = 0; i < n; i++) {
      lo = Math.min(lo, loads.index(i));
      hi = Math.max(hi, loads.index(i));
    }
    boolean range = chunk != null && hi - lo + 1 <= 2 * n + 16;
    counters = range ? chunk : null;
    first = range ? lo : 0;
    int positions = range ? hi - lo + 1 : n;
    inverseWeights = new double[positions];
    backendAt = new int[positions];
    Arrays.fill(inverseWeights, Double.POSITIVE_INFINITY);
    for (int i = 0; i < n; i++) {
      int position = range ? loads.index(i) - lo : i;
      inverseWeights[position] = 1.0 / weights[i];
      backendAt[position] = i;
    }
  }

  @Override
  public int pick(RoutingTable table, long requestKey) {
    return backendAt[counters != null ? scanRange() : scanBackends()];
  }

  private int scanRange() {
    int[] counters = this.counters;
    double[] inverseWeights = this.inverseWeights;
    int positions = inverseWeights.length;
    int start = ThreadLocalRandom.current().nextInt(positions);
    int best = -1;
    double bestScore = Double.POSITIVE_INFINITY;
    for (int p = start, c = first + start; p < positions; p++, c++) {
      double score = (counters[c] + 1.0) * inverseWeights[p];
      if (score < bestScore) {
        best = p;
        bestScore = score;
      }
    }
    for (int p = 0, c = first; p < start; p++, c++) {
      double score = (counters[c] + 1.0) * inverseWeights[p];
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
    double bestScore = Double.POSITIVE_INFINITY;
    for (int i = start; i < n; i++) {
      double score = (loads.load(i) + 1.0) * inverseWeights[i];
      if (score < bestScore) {
        best = i;
        bestScore = score;
      }
    }
    for (int i = 0; i < start; i++) {
      double score = (loads.load(i) + 1.0) * inverseWeights[i];
      if (score < bestScore) {
        best = i;
        bestScore = score;
      }
    }
    return best;
  }
}
