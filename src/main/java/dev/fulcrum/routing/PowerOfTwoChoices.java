package dev.fulcrum.routing;

import java.util.concurrent.ThreadLocalRandom;

/**
 * Two distinct backends drawn at random in proportion to their weights; the one with the lower (load + 1) / weight
 * wins. O(1) whatever the pool size, and it never sends work to the most loaded backend of the pool.
 */
final class PowerOfTwoChoices implements Strategy {
  private final AliasTable alias;
  private final LoadView loads;
  private final long[] weights;

  PowerOfTwoChoices(RoutedBackend[] backends, int[] weights) {
    this.alias = new AliasTable(weights);
    this.loads = new LoadView(backends);
    this.weights = Weights.widen(weights);
  }

  @Override
  public int pick(RoutingTable table, long requestKey) {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    int a = alias.draw(random.nextLong());
    int b = alias.drawOther(a, random);
    return (loads.load(b) + 1L) * weights[a] < (loads.load(a) + 1L) * weights[b] ? b : a;
  }
}
