package dev.fulcrum.testing;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;

/**
 * User configs for tests: the given HOCON over settings that keep test nodes quick and isolated (admin API on a random
 * port, a fresh in-memory journal).
 */
public final class TestConfig {
  private TestConfig() {}

  public static Config of(String hocon) {
    return ConfigFactory.parseString(hocon)
        .withFallback(ConfigFactory.parseString(
            """
            pekko.cluster.jmx.multi-mbeans-in-same-jvm = on
            pekko.coordinated-shutdown.run-by-jvm-shutdown-hook = off
            pekko.coordinated-shutdown.terminate-actor-system = on
            fulcrum.shutdown.drain-timeout = 5s
            fulcrum.admin.bind = "127.0.0.1:0"
            fulcrum.access-log.path = "target/test-access-logs/access.log"
            """))
        .withFallback(ConfigFactory.parseString(
            "pekko-persistence-jdbc.shared-databases.fulcrum.db.url = \"" + memoryJournalUrl() + "\""));
  }

  /** {@link #of} with every default under it, resolved: what a node would read, for parser tests. */
  public static Config resolved(String hocon) {
    return dev.fulcrum.Fulcrum.withDefaults(of(hocon));
  }

  /** A fresh in-memory H2 journal: each node a test starts gets its own unless the test sets a URL. */
  public static String memoryJournalUrl() {
    return "jdbc:h2:mem:journal-" + java.util.UUID.randomUUID() + ";DB_CLOSE_DELAY=-1";
  }

  /** An H2 journal in a file, to survive a restart of the node within a test. */
  public static String fileJournalUrl(java.nio.file.Path directory) {
    return "jdbc:h2:file:" + directory.resolve("journal").toAbsolutePath();
  }

  /** A port that was free a moment ago; for listeners whose address a test must know before it starts. */
  public static int freePort() {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
