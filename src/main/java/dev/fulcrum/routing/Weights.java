package dev.fulcrum.routing;

/** Small helpers shared by the weighted strategies. */
final class Weights {
  private Weights() {}

  static long[] widen(int[] weights) {
    long[] wide = new long[weights.length];
    for (int i = 0; i < weights.length; i++) wide[i] = weights[i];
    return wide;
  }

  static BackendStats[] stats(RoutedBackend[] backends) {
    BackendStats[] stats = new BackendStats[backends.length];
    for (int i = 0; i < backends.length; i++) stats[i] = backends[i].stats();
    return stats;
  }
}
