package dev.fulcrum.config;

import com.typesafe.config.Config;

/**
 * {@code fulcrum.node-name}, or the cluster member's configured canonical {@code host:port} when it is empty (refused
 * as a name when that port is 0 on a node that joins others).
 */
public final class NodeName {
  private NodeName() {}

  public static String parse(Config config) {
    String name = config.getString("fulcrum.node-name").strip();
    if (name.isEmpty()) {
      int port = config.getInt("pekko.remote.artery.canonical.port");
      // Every node joining with port 0 would be "host:0": they would share one listener journal, and a listener added
      // at runtime on one would come back on all of them. A lone node (no seed nodes) is the only one with its name.
      if (port == 0 && !config.getStringList("pekko.cluster.seed-nodes").isEmpty()) {
        throw new SettingsException("fulcrum.node-name: must be set on a cluster node whose pekko.remote.artery.canonical.port "
            + "is 0 (the name is this node's own among the nodes sharing the journal; a random port is no name)");
      }
      name = config.getString("pekko.remote.artery.canonical.hostname") + ":" + port;
    }
    if (name.length() > 200 || name.chars().anyMatch(c -> c < 0x20 || c == 0x7f || c == '|')) {
      throw new SettingsException("fulcrum.node-name: '" + name + "' must have 1-200 characters, without control characters or '|'");
    }
    return name;
  }
}
