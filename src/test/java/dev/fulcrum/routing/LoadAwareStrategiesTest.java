package dev.fulcrum.routing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Least connections, power of two choices and least response time against real counters with uneven load. */
class LoadAwareStrategiesTest {
  private static final long MS = 1_000_000;

  @Test
  void powerOfTwoChoicesNeverPicksTheMostLoadedOfThree() {
    RoutedBackend[] backends = Tables.backends(1, 1, 1);
    open(backends, 3, 7, 20);
    RoutingTable table = Tables.table(StrategyKind.POWER_OF_TWO_CHOICES, backends);
    int[] counts = new int[3];
    for (int i = 0; i < 100_000; i++) counts[table.pick(0)]++;
    assertEquals(0, counts[2], "most loaded picked");
    // The two others are each compared with the most loaded one in a third of the draws, so both get work.
    assertTrue(counts[1] > 20_000, "the middle one wins against the most loaded: " + counts[1]);
    assertTrue(counts[0] > 60_000, "the least loaded wins the rest: " + counts[0]);
  }

  @Test
  void powerOfTwoChoicesWeighsLoadByWeight() {
    // 6 connections on weight 3 is less loaded per weight than 3 on weight 1.
    RoutedBackend[] backends = Tables.backends(3, 1, 1);
    open(backends, 6, 3, 4);
    RoutingTable table = Tables.table(StrategyKind.POWER_OF_TWO_CHOICES, backends);
    for (int i = 0; i < 10_000; i++) assertNotEquals(2, table.pick(0));
  }

  @Test
  void leastConnectionsPicksTheLowestLoadPerWeightAndSpreadsTies() {
    RoutedBackend[] backends = Tables.backends(2, 1, 1, 1);
    open(backends, 3, 1, 2, 1); // (load + 1) / weight: 2, 2, 3, 2
    RoutingTable table = Tables.table(StrategyKind.LEAST_CONNECTIONS, backends);
    int[] counts = new int[4];
    for (int i = 0; i < 30_000; i++) counts[table.pick(0)]++;
    assertEquals(0, counts[2]);
    for (int i : new int[] {0, 1, 3}) assertTrue(counts[i] > 5_000, "ties spread: " + java.util.Arrays.toString(counts));

    backends[1].stats().requestStarted(); // requests in flight count as load too
    for (int i = 0; i < 1_000; i++) assertNotEquals(1, table.pick(0));
  }

  @Test
  void leastConnectionsIgnoresIdleBackendsThatAreNotInTheTable() {
    // Backends 0, 2, 4 of a pool are down: idle, but not in the table; counters of the pool sit side by side.
    RoutedBackend[] pool = Tables.backends(1, 1, 1, 1, 1, 1);
    open(pool, 0, 5, 0, 2, 0, 4);
    RoutingTable table = Tables.table(StrategyKind.LEAST_CONNECTIONS, pool[1], pool[3], pool[5]);
    for (int i = 0; i < 1_000; i++) assertEquals(1, table.pick(0), "pool[3] is table index 1");
  }

  @Test
  void leastConnectionsWorksWhenThePoolsCountersAreSpreadOut() {
    // A pool whose backends changed many times: this table's counters are far apart, or in different chunks.
    PoolLoad pool = new PoolLoad();
    RoutedBackend[] backends = new RoutedBackend[3];
    for (int i = 0; i < 3; i++) {
      for (int skip = 0; skip < 700; skip++) pool.allocate();
      backends[i] = Tables.backend(i, 1, pool);
    }
    open(backends, 2, 3, 1);
    RoutingTable table = Tables.table(StrategyKind.LEAST_CONNECTIONS, backends);
    for (int i = 0; i < 1_000; i++) assertEquals(2, table.pick(0));
    backends[0].stats().connectionClosed();
    backends[0].stats().connectionClosed();
    for (int i = 0; i < 1_000; i++) assertEquals(0, table.pick(0));
  }

  @Test
  void leastResponseTimeAvoidsTheSlowBackend() {
    RoutedBackend[] backends = Tables.backends(1, 1, 1);
    long now = System.nanoTime();
    backends[0].stats().observeLatency(2 * MS, now);
    backends[1].stats().observeLatency(300 * MS, now);
    backends[2].stats().observeLatency(3 * MS, now);
    RoutingTable table = Tables.table(StrategyKind.LEAST_RESPONSE_TIME, backends);
    int[] counts = new int[3];
    for (int i = 0; i < 30_000; i++) counts[table.pick(0)]++;
    assertEquals(0, counts[1]);
    assertTrue(counts[2] > 8_000, "the second fastest wins against the slow one: " + counts[2]);
  }

  @Test
  void leastResponseTimeMultipliesLatencyByLoad() {
    RoutedBackend[] backends = Tables.backends(1, 1);
    long now = System.nanoTime();
    backends[0].stats().observeLatency(2 * MS, now);
    backends[1].stats().observeLatency(5 * MS, now);
    open(backends, 4, 0); // 2 ms x 5 = 10 > 5 ms x 1
    RoutingTable table = Tables.table(StrategyKind.LEAST_RESPONSE_TIME, backends);
    for (int i = 0; i < 1_000; i++) assertEquals(1, table.pick(0));
  }

  @Test
  void leastResponseTimeProbesANewBackendOneRequestAtATime() {
    RoutedBackend[] backends = Tables.backends(1, 1);
    backends[0].stats().observeLatency(50 * MS, System.nanoTime());
    RoutingTable table = Tables.table(StrategyKind.LEAST_RESPONSE_TIME, backends);
    assertEquals(1, table.pick(0), "no history and idle: probed");
    backends[1].stats().requestStarted();
    assertEquals(0, table.pick(0), "no history and a probe open: penalised");
  }

  @Test
  void peakEwmaJumpsToSlowSamplesAndDecaysWithTime() {
    BackendStats stats = new BackendStats();
    long t = 1_000_000_000_000L;
    stats.observeLatency(10 * MS, t);
    assertEquals(10 * MS, stats.latencyEstimate(t), MS / 100);
    stats.observeLatency(200 * MS, t + 50 * MS);
    assertEquals(200 * MS, stats.latencyEstimate(t + 50 * MS), MS / 100, "a peak replaces the estimate at once");
    // A fast sample right after moves the estimate only a little; one after a long pause moves it most of the way.
    stats.observeLatency(10 * MS, t + 150 * MS);
    double afterQuick = stats.latencyEstimate(t + 150 * MS);
    assertTrue(afterQuick > 190 * MS && afterQuick < 200 * MS, "after a quick fast sample: " + afterQuick);
    stats.observeLatency(10 * MS, t + 30_150 * MS);
    double afterPause = stats.latencyEstimate(t + 30_150 * MS);
    assertTrue(afterPause < 20 * MS, "after a fast sample 30 s later: " + afterPause);
    // Without samples the estimate decays toward 0 with a 10 s time constant.
    stats.observeLatency(100 * MS, t + 40_000 * MS);
    assertEquals(100 * MS * Math.exp(-1), stats.latencyEstimate(t + 50_000 * MS), 1 * MS);
  }

  /** Opens {@code connections[i]} connections on {@code backends[i]}. */
  private static void open(RoutedBackend[] backends, int... connections) {
    for (int b = 0; b < connections.length; b++) {
      for (int i = 0; i < connections[b]; i++) backends[b].stats().connectionOpened();
    }
  }
}
