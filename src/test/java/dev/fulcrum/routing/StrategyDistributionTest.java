package dev.fulcrum.routing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Over 100 000 picks every strategy's shares match the weights: exactly per cycle for the round robins. */
class StrategyDistributionTest {
  private static final int PICKS = 100_000;

  @Test
  void roundRobinServesEachBackendOncePerCycle() {
    RoutingTable table = Tables.table(StrategyKind.ROUND_ROBIN, Tables.backends(5, 1, 1, 3));
    for (int cycle = 0; cycle < PICKS / 4; cycle++) {
      int[] counts = new int[4];
      for (int i = 0; i < 4; i++) counts[table.pick(0)]++;
      assertArrayEquals(new int[] {1, 1, 1, 1}, counts, "cycle " + cycle);
    }
  }

  @Test
  void smoothWeightedRoundRobinInterleavesLikeNginx() {
    RoutingTable table = Tables.table(StrategyKind.WEIGHTED_ROUND_ROBIN, Tables.backends(5, 1, 1));
    int[] sequence = new int[14];
    for (int i = 0; i < sequence.length; i++) sequence[i] = table.pick(0);
    // a, a, b, a, c, a, a — twice
    assertArrayEquals(new int[] {0, 0, 1, 0, 2, 0, 0, 0, 0, 1, 0, 2, 0, 0}, sequence);
  }

  @Test
  void smoothWeightedRoundRobinSharesAreExactPerCycle() {
    int[] weights = {5, 1, 1, 3};
    RoutingTable table = Tables.table(StrategyKind.WEIGHTED_ROUND_ROBIN, Tables.backends(weights));
    for (int cycle = 0; cycle < PICKS / 10; cycle++) {
      int[] counts = new int[4];
      int longestRun = 0;
      int run = 0;
      int last = -1;
      for (int i = 0; i < 10; i++) {
        int picked = table.pick(0);
        counts[picked]++;
        run = picked == last ? run + 1 : 1;
        last = picked;
        longestRun = Math.max(longestRun, run);
      }
      assertArrayEquals(weights, counts, "cycle " + cycle);
      assertTrue(longestRun <= 2, "smooth: no burst of the heavy backend, got a run of " + longestRun);
    }
  }

  @Test
  void smoothWeightedRoundRobinReducesCommonDivisorsAndKeepsItsPositionAcrossSwaps() {
    RoutedBackend[] backends = Tables.backends(50, 10, 10);
    RoutingTable first = Tables.table(StrategyKind.WEIGHTED_ROUND_ROBIN, Tables.settings(0), null, backends);
    int[] sequence = new int[7];
    for (int i = 0; i < 3; i++) sequence[i] = first.pick(0);
    RoutingTable second = Tables.table(StrategyKind.WEIGHTED_ROUND_ROBIN, Tables.settings(0), first.strategy(), backends);
    for (int i = 3; i < 7; i++) sequence[i] = second.pick(0);
    assertArrayEquals(new int[] {0, 0, 1, 0, 2, 0, 0}, sequence);
  }

  @Test
  void hugePoolsAreScaledToABoundedCycleWithinOnePercent() {
    SplittableRandom random = new SplittableRandom(7);
    int[] weights = new int[1000];
    for (int i = 0; i < weights.length; i++) weights[i] = 1 + random.nextInt(1000);
    int[] reduced = SmoothWeightedRoundRobin.reduce(weights);
    long total = Arrays.stream(reduced).asLongStream().sum();
    assertTrue(total * weights.length <= SmoothWeightedRoundRobin.MAX_WORK + weights.length, "cycle " + total);
    double weightTotal = Arrays.stream(weights).asLongStream().sum();
    for (int i = 0; i < weights.length; i++) {
      assertEquals(weights[i] / weightTotal, reduced[i] / (double) total, 0.01 * weights[i] / weightTotal + 1.0 / total);
    }
  }

  /** Strategies whose shares follow the weights statistically: random draws, or load held in proportion. */
  @ParameterizedTest
  @EnumSource(
      value = StrategyKind.class,
      names = {"RANDOM", "LEAST_CONNECTIONS", "POWER_OF_TWO_CHOICES", "LEAST_RESPONSE_TIME", "CONSISTENT_HASH"})
  void sharesMatchWeightsWithinOnePercent(StrategyKind kind) {
    int[] weights = {5, 1, 1, 3};
    RoutedBackend[] backends = Tables.backends(weights);
    RoutingTable table = Tables.table(kind, backends);
    // Each pick opens a connection that stays open for the next 100 picks: a steady load for the load-aware ones.
    ArrayDeque<BackendStats> open = new ArrayDeque<>();
    SplittableRandom keys = new SplittableRandom(42);
    int[] counts = new int[weights.length];
    for (int i = 0; i < PICKS; i++) {
      int picked = table.pick(keys.nextLong());
      counts[picked]++;
      BackendStats stats = backends[picked].stats();
      stats.connectionOpened();
      open.add(stats);
      if (open.size() > 100) open.remove().connectionClosed();
    }
    for (int i = 0; i < weights.length; i++) {
      double expected = weights[i] / 10.0;
      double actual = counts[i] / (double) PICKS;
      assertEquals(expected, actual, 0.01, kind + " share of backend " + i + " " + Arrays.toString(counts));
    }
  }
}
