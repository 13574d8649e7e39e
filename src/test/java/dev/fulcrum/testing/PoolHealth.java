package dev.fulcrum.testing;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.backend.Health;
import dev.fulcrum.routing.PoolRouter;
import dev.fulcrum.routing.PoolStatus;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.javadsl.AskPattern;

/** A pool's backends as its router sees them, and waiting for them to have passed their health checks. */
public final class PoolHealth {
  private PoolHealth() {}

  public static PoolStatus status(Fulcrum fulcrum, String pool) {
    try {
      return AskPattern.<PoolRouter.Command, PoolStatus>ask(
              fulcrum.router(pool), PoolRouter.GetStatus::new, Duration.ofSeconds(5), fulcrum.system().scheduler())
          .toCompletableFuture()
          .get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("no status of pool " + pool, e);
    }
  }

  /** Waits until the pool has exactly {@code backends} backends, all up and all in its routing table. */
  public static void awaitAllUp(Fulcrum fulcrum, String pool, int backends) {
    Eventually.await(Duration.ofSeconds(20), backends + " backends of " + pool + " up", () -> {
      PoolStatus status;
      try {
        status = status(fulcrum, pool);
      } catch (AssertionError noAnswerYet) {
        return false;
      }
      return status.backends().size() == backends
          && status.backends().stream().allMatch(b -> b.health() == Health.UP)
          && fulcrum.tables().of(pool).current().size() == backends;
    });
  }
}
