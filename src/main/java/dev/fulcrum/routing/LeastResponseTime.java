package dev.fulcrum.routing;

import java.util.concurrent.ThreadLocalRandom;

/**
 * Finagle's and Linkerd's peak-EWMA balancer: two distinct backends drawn in proportion to their weights, and the one
 * with the lower cost wins, where cost = latency estimate × (load + 1) / weight. A backend that has work open but no
 * latency sample yet costs a large penalty (plus its load per weight, to tell such backends apart), so a new backend
 * takes one probe at a time until it has answered.
 *
 * <p>Two random choices rather than a scan of all backends: the latency estimate decays with time and costs an
 * {@code exp} to read, so reading two keeps the pick O(1) for any pool size.
 *
 * <p>On L4 pools there are no latency samples (a TCP listener reports only connections), so the cost is the penalty
 * plus the open connections per weight: this strategy then acts as {@link PowerOfTwoChoices}.
 */
final class LeastResponseTime implements Strategy {
  private static final double PENALTY = Long.MAX_VALUE >> 16;

  private final AliasTable alias;
  private final BackendStats[] stats;
  private final LoadView loads;
  private final int[] weights;

  LeastResponseTime(RoutedBackend[] backends, int[] weights) {
    this.alias = new AliasTable(weights);
    this.stats = Weights.stats(backends);
    this.loads = new LoadView(backends);
    this.weights = weights;
  }

  @Override
  public int pick(RoutingTable table, long requestKey) {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    int a = alias.draw(random.nextLong());
    int b = alias.drawOther(a, random);
    long now = System.nanoTime();
    return cost(b, now) < cost(a, now) ? b : a;
  }

  double cost(int i, long now) {
    double latency = stats[i].latencyEstimate(now);
    int load = loads.load(i);
    double perWeight = (load + 1.0) / weights[i];
    return latency == 0 && load != 0 ? PENALTY + perWeight : latency * perWeight;
  }
}
