package dev.fulcrum.http;

import com.typesafe.config.Config;
import dev.fulcrum.Fulcrum;
import dev.fulcrum.testing.TestConfig;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;

/** Shared set-up of the HTTP proxy tests. */
final class ProxyTests {
  private ProxyTests() {}

  /**
   * The test's config with its HTTP listeners on {@code engine} (unless one names its own), and health checks that
   * tolerate a loaded machine: a backend's first check decides whether it is routable, and a 1 s timeout on a busy
   * 2-core box would take healthy backends down.
   */
  static Config config(String engine, String hocon) {
    return TestConfig.of(hocon + "\nfulcrum.http.engine = " + engine + "\nfulcrum.health-check.timeout = 5s\n");
  }

  /** Stops the node, if it started, then the actor system its test's backends run on. */
  static void stop(Fulcrum fulcrum, ActorSystem<?> backends) throws Exception {
    try {
      if (fulcrum != null) fulcrum.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } finally {
      backends.terminate();
    }
  }
}
