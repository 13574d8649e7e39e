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

  /**
   * A port that was free a moment ago and that this JVM never handed out before; for listeners whose address a test
   * must know before it starts. Taken below the kernel's ephemeral range: a port that {@code bind(0)} hands out and
   * frees may be handed out again at once, to the next {@code freePort()} or to a node's listener on port 0 (two
   * nodes of one test were given the same port that way, and one of them died with "address already in use").
   */
  public static int freePort() {
    for (int attempt = 0; attempt < 1000; attempt++) {
      int port = LOW_PORT + java.util.concurrent.ThreadLocalRandom.current().nextInt(EPHEMERAL_FROM - LOW_PORT);
      if (HANDED_OUT.add(port) && bindable(port)) return port;
    }
    throw new IllegalStateException("no free port in " + LOW_PORT + "-" + (EPHEMERAL_FROM - 1));
  }

  private static final int LOW_PORT = 10000;
  private static final int EPHEMERAL_FROM = ephemeralFrom();
  private static final java.util.Set<Integer> HANDED_OUT = java.util.concurrent.ConcurrentHashMap.newKeySet();

  /** The first port of the kernel's range for bind(0) and outgoing connections (Linux's default 32768 elsewhere). */
  private static int ephemeralFrom() {
    try {
      String range = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/sys/net/ipv4/ip_local_port_range")).trim();
      int from = Integer.parseInt(range.split("\\s+")[0]);
      return from > LOW_PORT + 1000 ? from : 32768;
    } catch (IOException | RuntimeException e) {
      return 32768;
    }
  }

  private static boolean bindable(int port) {
    try (ServerSocket socket = new ServerSocket()) {
      socket.bind(new java.net.InetSocketAddress("127.0.0.1", port));
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
