package dev.fulcrum.routing;

import java.util.concurrent.ThreadLocalRandom;

/** A random backend, each with probability proportional to its weight. */
final class WeightedRandom implements Strategy {
  private final AliasTable alias;

  WeightedRandom(int[] weights) {
    this.alias = new AliasTable(weights);
  }

  @Override
  public int pick(RoutingTable table, long requestKey) {
    return alias.draw(ThreadLocalRandom.current().nextLong());
  }
}
