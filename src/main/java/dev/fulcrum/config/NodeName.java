package dev.fulcrum.config;

import com.typesafe.config.Config;

/** {@code fulcrum.node-name}, or the cluster member's configured canonical {@code host:port} when it is empty. */
public final class NodeName {
  private NodeName() {}

  public static String parse(Config config) {
    String name = config.getString("fulcrum.node-name").strip();
    if (name.isEmpty()) {
      name = config.getString("pekko.remote.artery.canonical.hostname") + ":" + config.getInt("pekko.remote.artery.canonical.port");
    }
    if (name.length() > 200 || name.chars().anyMatch(c -> c < 0x20 || c == 0x7f || c == '|')) {
      throw new SettingsException("fulcrum.node-name: '" + name + "' must have 1-200 characters, without control characters or '|'");
    }
    return name;
  }
}
