package dev.fulcrum.config;

import com.sun.management.UnixOperatingSystemMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;

/**
 * A listener's {@code max-connections}: a number, or {@code auto}, derived from the process's open-file limit as
 * HAProxy derives {@code maxconn}: each proxied connection holds two descriptors (client and backend), and some are
 * kept for everything else (journal, cluster, logs, health checks).
 */
final class ConnectionLimit {
  static final int MAX = 1_000_000;
  /** Descriptors left for what is not a proxied connection. */
  private static final long RESERVED = 1000;
  /** Where the open-file limit cannot be read (not a Unix JVM): the old fixed default. */
  private static final int FALLBACK = 1024;

  private ConnectionLimit() {}

  static int parse(ConfigReader r, String key) {
    if (r.config().getValue(key).unwrapped() instanceof String text && text.trim().equals("auto")) return auto();
    return r.intIn(key, 1, MAX);
  }

  static int auto() {
    OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
    if (!(os instanceof UnixOperatingSystemMXBean unix)) return FALLBACK;
    return fromOpenFileLimit(unix.getMaxFileDescriptorCount());
  }

  static int fromOpenFileLimit(long openFiles) {
    return (int) Math.max(1, Math.min(MAX, (openFiles - RESERVED) / 2));
  }
}
