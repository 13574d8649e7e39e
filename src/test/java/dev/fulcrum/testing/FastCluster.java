package dev.fulcrum.testing;

/**
 * Failure detection and split-brain settings that make a crashed node's loss settle within seconds in tests, where
 * nodes share one machine and a false "down" only costs a failed test, not an outage.
 */
public final class FastCluster {
  private FastCluster() {}

  public static final String SETTINGS = """
      pekko.cluster.failure-detector.heartbeat-interval = 500ms
      pekko.cluster.failure-detector.acceptable-heartbeat-pause = 2s
      pekko.cluster.split-brain-resolver.stable-after = 2s
      """;
}
