package dev.fulcrum.routing;

import java.util.concurrent.ThreadLocalRandom;

/**
 * Two distinct backends drawn at random in proportion to their weights; the one with the lower (load + 1) / weight
 * wins. O(1) whatever the pool size, and it never sends work to the most loaded backend of the pool.
 */
final class PowerOfTwoChoices implements Strategy {
  private final AliasTable alias;
  private final BackendStats[] stats;
  private final long[] weights;

  PowerOfTwoChoices(BackendStats[] stats, int[] weights) {
    this.alias = new AliasTable(weights);
    this.stats = stats;
    this.weights = Weights.widen(weights);
  }

  @Override
  public int pick(RoutingTable table, long requestKey) {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    int a = alias.draw(random.nextLong());
    int b = alias.drawOther(a, random);
    return (stats[b].load() + 1L) * weights[a] < (stats[a].load() + 1L) * weights[b] ? b : a;
  }
}
