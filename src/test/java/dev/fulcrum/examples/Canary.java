package dev.fulcrum.examples;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.backend.Health;
import dev.fulcrum.config.HttpRouteSettings.WeightedPool;
import dev.fulcrum.events.EventFilter;
import dev.fulcrum.events.FulcrumEvent;
import dev.fulcrum.events.FulcrumEvent.Kind;
import dev.fulcrum.pool.PoolEntity;
import dev.fulcrum.routes.RouteTableEntity;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.UniqueKillSwitch;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;

/**
 * A canary, the README's example of steering Fulcrum from a program: moves a route from pool {@code from} to pool
 * {@code to} in steps (10 % → 50 % → 100 %), a pause between them, while it watches {@code to}'s backends through a
 * subscription; when one goes down it puts the route back on {@code from} alone. Nothing blocks: the steps are chained
 * futures, the pause a delayed executor. Each change carries an idempotency key of its own, so one whose outcome is
 * unknown is simply sent again; the rollback waits for a change in flight, so it is always the last word.
 */
public final class Canary {
  public enum Outcome { PROMOTED, ROLLED_BACK, STUCK }

  /** How it ended and why; {@code STUCK}: the rollback was refused or not confirmed, look at the route by hand. */
  public record Result(Outcome outcome, String reason) {}

  private static final int[] STEPS = {10, 50, 100};
  private static final int ATTEMPTS = 3;

  private final Fulcrum fulcrum;
  private final String origin, listener, route, from, to;
  private final Duration pause;
  private final IntFunction<CompletionStage<?>> afterStep;
  private final String run = "canary-" + UUID.randomUUID().toString().substring(0, 8);   // keys this run's changes
  private final CompletableFuture<Result> result = new CompletableFuture<>();
  private CompletionStage<?> inFlight = CompletableFuture.completedFuture(null);
  private boolean stopping;

  private Canary(Fulcrum fulcrum, String origin, String listener, String route, String from, String to, Duration pause,
      IntFunction<CompletionStage<?>> afterStep) {
    this.fulcrum = fulcrum;
    this.origin = origin;
    this.listener = listener;
    this.route = route;
    this.from = from;
    this.to = to;
    this.pause = pause;
    this.afterStep = afterStep;
  }

  /**
   * Runs the canary; completes once the route is on {@code to} alone or back on {@code from}. {@code afterStep} is
   * given each percentage once this node routes by it, and the pause starts when its stage completes: a program's own
   * checks (error rates, latency) go there. {@code origin} names the run in the route's history.
   */
  public static CompletionStage<Result> run(Fulcrum fulcrum, String origin, String listener, String route, String from,
      String to, Duration pause, IntFunction<CompletionStage<?>> afterStep) {
    return new Canary(fulcrum, origin, listener, route, from, to, pause, afterStep).start();
  }

  private CompletionStage<Result> start() {
    var watch = fulcrum.events(EventFilter.kinds(Kind.BACKEND_HEALTH).withPools(to), 100)
        .viaMat(KillSwitches.single(), Keep.both())
        .toMat(Sink.foreach(this::onEvent), Keep.left())
        .run(fulcrum.system());
    UniqueKillSwitch unsubscribe = watch.second();
    result.whenComplete((r, e) -> unsubscribe.shutdown());
    watch.first().thenRun(() -> step(0));   // once subscribed: no transition from now on is missed
    return result;
  }

  private void onEvent(FulcrumEvent event) {
    if (event instanceof FulcrumEvent.BackendHealthChanged h && h.to() == Health.DOWN) {
      rollBack(to + " backend " + h.backend() + " went down: " + h.reason());
    } else if (event instanceof FulcrumEvent.EventsDropped) {
      rollBack("health events of " + to + " were lost; its health is unknown");
    }
  }

  private synchronized void step(int i) {
    if (stopping) return;
    int percent = STEPS[i];
    List<WeightedPool> split = percent == 100 ? List.of(new WeightedPool(to, 100))
        : List.of(new WeightedPool(from, 100 - percent), new WeightedPool(to, percent));
    inFlight = setPools(split, run + "-" + percent, ATTEMPTS).thenAccept(reply -> {
      if (reply instanceof RouteTableEntity.Ok ok) {
        fulcrum.awaitRoutes(listener, ok.state().version(), Duration.ofSeconds(5))
            .thenCompose(routing -> afterStep.apply(percent))
            .thenRun(() -> next(i))
            .exceptionally(e -> { rollBack("the step to " + percent + " % failed: " + e); return null; });
      } else {
        rollBack("the step to " + percent + " % " + describe(reply));   // nothing changed, or still unknown after retries
      }
    });
  }

  private synchronized void next(int i) {
    if (stopping) return;
    if (STEPS[i] == 100) finish(new Result(Outcome.PROMOTED, route + " is on " + to));
    else CompletableFuture.delayedExecutor(pause.toMillis(), TimeUnit.MILLISECONDS).execute(() -> step(i + 1));
  }

  private void rollBack(String why) {
    CompletionStage<?> after;
    synchronized (this) {
      if (stopping) return;
      stopping = true;
      after = inFlight;
    }
    after.handle((x, e) -> null)
        .thenCompose(x -> setPools(List.of(new WeightedPool(from, 100)), run + "-rollback", ATTEMPTS))
        .thenAccept(reply -> finish(reply instanceof RouteTableEntity.Ok
            ? new Result(Outcome.ROLLED_BACK, why)
            : new Result(Outcome.STUCK, why + "; the rollback " + describe(reply))));
  }

  private synchronized void finish(Result r) {
    stopping = true;
    result.complete(r);
  }

  private static String describe(RouteTableEntity.Reply reply) {
    if (reply instanceof RouteTableEntity.Rejected r) return "was rejected (" + r.reason() + "): " + r.message();
    if (reply instanceof RouteTableEntity.OutcomeUnknown u) return "has an unknown outcome after " + ATTEMPTS + " tries: " + u.message();
    return "was applied";
  }

  /** Sends the change, and again with the same key while its outcome is unknown: the key makes it happen once. */
  private CompletionStage<RouteTableEntity.Reply> setPools(List<WeightedPool> split, String key, int attempts) {
    PoolEntity.Request request = PoolEntity.Request.of(origin, Duration.ofSeconds(4)).withIdempotencyKey(key);
    return fulcrum.changeRoutes(listener, request, (req, r) -> new RouteTableEntity.SetPools(route, split, req, r))
        .thenCompose(reply -> reply instanceof RouteTableEntity.OutcomeUnknown && attempts > 1
            ? setPools(split, key, attempts - 1)
            : CompletableFuture.completedFuture(reply));
  }
}
