package dev.fulcrum.config;

import com.typesafe.config.Config;

/**
 * {@code fulcrum.node-name}, or the cluster member's canonical {@code host:port} when it is empty: the configured port,
 * or the port it was bound to when that is 0 on a node that joins others (every such node would be {@code host:0},
 * and they would share one listener journal).
 */
public final class NodeName {
  private NodeName() {}

  /** The name as configured; checked before anything starts. */
  public static String parse(Config config) {
    String name = config.getString("fulcrum.node-name").strip();
    if (name.isEmpty()) name = host(config) + ":" + config.getInt("pekko.remote.artery.canonical.port");
    if (name.length() > 200 || name.chars().anyMatch(c -> c < 0x20 || c == 0x7f || c == '|')) {
      throw new SettingsException("fulcrum.node-name: '" + name + "' must have 1-200 characters, without control characters or '|'");
    }
    return name;
  }

  /**
   * True when the name is the port the node was bound to: no {@code fulcrum.node-name}, port 0, and seed nodes. A lone
   * node on port 0 keeps {@code host:0}, the only node with that name in its journal, so that its listeners added at
   * runtime come back when it restarts.
   */
  public static boolean takesBoundPort(Config config) {
    return config.getString("fulcrum.node-name").isBlank() && config.getInt("pekko.remote.artery.canonical.port") == 0
        && !config.getStringList("pekko.cluster.seed-nodes").isEmpty();
  }

  /** The name of a node whose canonical port 0 was bound to {@code boundPort} (see {@link #takesBoundPort}). */
  public static String withBoundPort(Config config, int boundPort) {
    return host(config) + ":" + boundPort;
  }

  private static String host(Config config) {
    return config.getString("pekko.remote.artery.canonical.hostname");
  }
}
