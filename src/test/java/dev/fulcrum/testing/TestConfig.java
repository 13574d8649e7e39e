package dev.fulcrum.testing;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;

/** User configs for tests: the given HOCON over settings that keep test nodes quick and isolated. */
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
            """));
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
