package dev.fulcrum.config;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * How pool states travel between nodes ({@code fulcrum.cluster}); membership, failure detection and the split-brain
 * resolver are Pekko's own {@code pekko.cluster} settings.
 *
 * @param stateWriteTimeout how long a pool's new state is pushed to every node before gossip is left to finish it
 */
public record ClusterSettings(Duration stateWriteTimeout) {

  public static ClusterSettings parse(Config root) {
    ConfigReader cluster = new ConfigReader(root, "").child("fulcrum").child("cluster");
    return new ClusterSettings(cluster.positiveDuration("state-write-timeout"));
  }
}
