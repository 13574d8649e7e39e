package dev.fulcrum.routing;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.backend.Health;
import dev.fulcrum.testing.Eventually;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.javadsl.AskPattern;

/** Waits for a pool's backends to have passed their health checks, as its router sees them. */
final class PoolHealth {
  private PoolHealth() {}

  static void awaitAllUp(Fulcrum fulcrum, String pool, int backends) {
    Eventually.await(Duration.ofSeconds(20), backends + " backends of " + pool + " up", () -> {
      try {
        PoolStatus status = AskPattern.<PoolRouter.Command, PoolStatus>ask(
                fulcrum.router(pool), PoolRouter.GetStatus::new, Duration.ofSeconds(3), fulcrum.system().scheduler())
            .toCompletableFuture()
            .get(5, TimeUnit.SECONDS);
        return status.backends().size() == backends
            && status.backends().stream().allMatch(b -> b.health() == Health.UP)
            && fulcrum.tables().of(pool).current().size() == backends;
      } catch (Exception e) {
        return false;
      }
    });
  }
}
