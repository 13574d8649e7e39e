package dev.fulcrum.routing;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The cost of one pick per strategy and pool size, with a realistic table: mixed weights, uneven load on every
 * backend, latency history, and bounded loads on for consistent hashing. Run with the {@code jmh} profile (see
 * load-tests/STRATEGIES.md).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class StrategyBenchmark {
  @Param({
    "ROUND_ROBIN",
    "WEIGHTED_ROUND_ROBIN",
    "LEAST_CONNECTIONS",
    "RANDOM",
    "POWER_OF_TWO_CHOICES",
    "CONSISTENT_HASH",
    "LEAST_RESPONSE_TIME"
  })
  public StrategyKind strategy;

  @Param({"3", "100", "1000"})
  public int backends;

  private RoutingTable table;
  private long key;

  @Setup
  public void setUp() {
    SplittableRandom random = new SplittableRandom(42);
    int[] weights = new int[backends];
    for (int i = 0; i < backends; i++) weights[i] = 1 + random.nextInt(5);
    RoutedBackend[] routed = Tables.backends(weights);
    long now = System.nanoTime();
    for (RoutedBackend backend : routed) {
      for (int c = random.nextInt(11); c > 0; c--) backend.stats().connectionOpened();
      backend.stats().observeLatency(1_000_000 + random.nextInt(5_000_000), now);
    }
    table = Tables.table(strategy, Tables.settings(1.25), null, routed);
  }

  @Benchmark
  public int pick() {
    key += 0x9e3779b97f4a7c15L;
    return table.pick(key);
  }
}
