package dev.fulcrum.http;

import com.typesafe.config.Config;
import dev.fulcrum.Fulcrum;
import dev.fulcrum.backend.Health;
import dev.fulcrum.routing.PoolRouter;
import dev.fulcrum.routing.PoolStatus;
import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.TestConfig;
import java.time.Duration;
import org.apache.pekko.actor.typed.javadsl.AskPattern;

/** Shared set-up of the HTTP proxy tests. */
final class ProxyTests {
  private ProxyTests() {}

  /**
   * The test's config with health checks that tolerate a loaded machine: a backend's first check decides whether it
   * is routable, and a 1 s timeout on a busy 2-core box would take healthy backends down.
   */
  static Config config(String hocon) {
    return TestConfig.of(hocon + "\nfulcrum.health-check.timeout = 5s\n");
  }

  /** Waits until {@code count} backends of the pool passed their first check and are in the table. */
  static void awaitUp(Fulcrum fulcrum, String pool, int count) {
    Eventually.await(Duration.ofSeconds(20), pool + " has " + count + " backends up", () -> {
      PoolStatus status = AskPattern.<PoolRouter.Command, PoolStatus>ask(
              fulcrum.router(pool), PoolRouter.GetStatus::new, Duration.ofSeconds(5), fulcrum.system().scheduler())
          .toCompletableFuture().join();
      return status.backends().stream().filter(b -> b.health() == Health.UP).count() == count
          && fulcrum.tables().of(pool).current().size() == count;
    });
  }
}
