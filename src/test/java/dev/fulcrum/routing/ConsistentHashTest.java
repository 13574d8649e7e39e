package dev.fulcrum.routing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** Maglev hashing: stable keys, minimal remapping when the set changes, and bounded loads. */
class ConsistentHashTest {
  private static final int KEYS = 100_000;

  @Test
  void theSameKeyReachesTheSameBackendAcrossRebuilds() {
    RoutedBackend[] backends = Tables.backends(1, 1, 1, 1, 1);
    RoutingTable first = Tables.table(StrategyKind.CONSISTENT_HASH, backends);
    RoutingTable rebuilt = Tables.table(StrategyKind.CONSISTENT_HASH, Tables.backends(1, 1, 1, 1, 1));
    SplittableRandom keys = new SplittableRandom(1);
    for (int i = 0; i < KEYS; i++) {
      long key = keys.nextLong();
      int picked = first.pick(key);
      assertEquals(picked, first.pick(key));
      assertEquals(picked, rebuilt.pick(key), "a table built afresh from the same backends agrees");
    }
  }

  @Test
  void anUnchangedSetReusesItsLookupTable() {
    RoutedBackend[] backends = Tables.backends(1, 2, 3);
    RoutingTable first = Tables.table(StrategyKind.CONSISTENT_HASH, Tables.settings(0), null, backends);
    RoutingTable second = Tables.table(StrategyKind.CONSISTENT_HASH, Tables.settings(0), first.strategy(), backends);
    assertSame(slots(first), slots(second));
  }

  @ParameterizedTest
  @ValueSource(ints = {3, 5, 10, 25})
  void removingOneOfNRemapsAtMostOneNthPlusTwoPercent(int n) {
    RoutedBackend[] all = Tables.backends(ones(n));
    RoutedBackend[] withoutOne = new RoutedBackend[n - 1];
    System.arraycopy(all, 0, withoutOne, 0, 2);
    System.arraycopy(all, 3, withoutOne, 2, n - 3);
    double moved = moved(Tables.table(StrategyKind.CONSISTENT_HASH, all), Tables.table(StrategyKind.CONSISTENT_HASH, withoutOne));
    assertTrue(moved <= 1.0 / n + 0.02, "moved " + moved + " of keys, removing 1 of " + n);
  }

  @ParameterizedTest
  @ValueSource(ints = {3, 5, 10, 25})
  void addingOneMovesAtMostOneNPlusOnethPlusTwoPercent(int n) {
    RoutedBackend[] more = Tables.backends(ones(n + 1));
    RoutedBackend[] before = Arrays.copyOf(more, n);
    double moved = moved(Tables.table(StrategyKind.CONSISTENT_HASH, before), Tables.table(StrategyKind.CONSISTENT_HASH, more));
    assertTrue(moved <= 1.0 / (n + 1) + 0.02, "moved " + moved + " of keys, adding 1 to " + n);
  }

  @Test
  void boundedLoadKeepsEveryBackendUnderItsBound() {
    double factor = 1.25;
    int[] weights = {1, 1, 2, 1, 3};
    RoutedBackend[] backends = Tables.backends(weights);
    RoutingTable table = Tables.table(StrategyKind.CONSISTENT_HASH, Tables.settings(factor), null, backends);
    // Skewed keys: half of all requests carry one of 3 hot keys; connections stay open, some close at random.
    SplittableRandom random = new SplittableRandom(3);
    int placed = 0;
    int[] load = new int[weights.length];
    for (int i = 0; i < 20_000; i++) {
      long key = random.nextBoolean() ? random.nextInt(3) : random.nextLong();
      int total = Arrays.stream(load).sum();
      int picked = table.pick(key);
      double bound = Math.ceil(factor * (total + 1) * weights[picked] / 8.0);
      assertTrue(load[picked] + 1 <= bound, "backend " + picked + " would hold " + (load[picked] + 1) + " > " + bound);
      backends[picked].stats().connectionOpened();
      load[picked]++;
      placed++;
      if (random.nextInt(3) == 0) {
        int victim = random.nextInt(weights.length);
        if (load[victim] > 0) {
          backends[victim].stats().connectionClosed();
          load[victim]--;
        }
      }
    }
    assertTrue(placed == 20_000);
  }

  @Test
  void boundedLoadStillSticksWhileThereIsRoom() {
    RoutedBackend[] backends = Tables.backends(1, 1, 1, 1);
    RoutingTable bounded = Tables.table(StrategyKind.CONSISTENT_HASH, Tables.settings(1.25), null, backends);
    RoutingTable plain = Tables.table(StrategyKind.CONSISTENT_HASH, Tables.settings(0), null, backends);
    SplittableRandom keys = new SplittableRandom(5);
    for (int i = 0; i < 10_000; i++) {
      long key = keys.nextLong();
      assertEquals(plain.pick(key), bounded.pick(key));
    }
  }

  @Test
  void weightsGiveProportionalSlots() {
    int[] weights = {1, 4, 2, 3};
    int[] slots = ConsistentHash.slots(new String[] {"a:1", "b:1", "c:1", "d:1"}, weights);
    int[] counts = new int[4];
    for (int s : slots) counts[s]++;
    for (int i = 0; i < 4; i++) assertEquals(weights[i] / 10.0, counts[i] / (double) slots.length, 0.001);
  }

  private static double moved(RoutingTable before, RoutingTable after) {
    SplittableRandom keys = new SplittableRandom(9);
    int moved = 0;
    for (int i = 0; i < KEYS; i++) {
      long key = keys.nextLong();
      if (!before.get(before.pick(key)).address().equals(after.get(after.pick(key)).address())) moved++;
    }
    return moved / (double) KEYS;
  }

  private static int[] slots(RoutingTable table) {
    try {
      var field = ConsistentHash.class.getDeclaredField("slots");
      field.setAccessible(true);
      return (int[]) field.get(table.strategy());
    } catch (ReflectiveOperationException e) {
      throw new AssertionError(e);
    }
  }

  private static int[] ones(int n) {
    int[] ones = new int[n];
    Arrays.fill(ones, 1);
    return ones;
  }
}
