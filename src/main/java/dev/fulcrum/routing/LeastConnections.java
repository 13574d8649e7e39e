package dev.fulcrum.routing;

import java.util.concurrent.ThreadLocalRandom;

/**
 * The backend with the lowest (load + 1) / weight, where load is open connections plus requests in flight; the +1
 * counts the connection being placed, so idle backends are told apart by weight. The scan starts at a random backend,
 * so ties are spread instead of always going to the first one.
 */
final class LeastConnections implements Strategy {
  private final BackendStats[] stats;
  private final long[] weights;

  LeastConnections(BackendStats[] stats, int[] weights) {
    this.stats = stats;
    this.weights = Weights.widen(weights);
  }

  @Override
  public int pick(RoutingTable table, long requestKey) {
    int n = stats.length;
    int start = n == 1 ? 0 : ThreadLocalRandom.current().nextInt(n);
    int best = start;
    long bestLoad = stats[start].load() + 1L;
    long bestWeight = weights[start];
    for (int i = start + 1; i < n; i++) {
      long load = stats[i].load() + 1L;
      if (load * bestWeight < bestLoad * weights[i]) {
        best = i;
        bestLoad = load;
        bestWeight = weights[i];
      }
    }
    for (int i = 0; i < start; i++) {
      long load = stats[i].load() + 1L;
      if (load * bestWeight < bestLoad * weights[i]) {
        best = i;
        bestLoad = load;
        bestWeight = weights[i];
      }
    }
    return best;
  }
}
