package dev.fulcrum.backend;

import dev.fulcrum.config.HealthCheckSettings;
import dev.fulcrum.config.HostPort;
import dev.fulcrum.routing.BackendStats;
import java.util.Optional;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * Owns one backend's health on this node: runs active checks on a timer, counts passive connect failures reported by
 * the data plane, applies rise/fall, and tells its pool's router about each transition.
 */
public final class BackendActor extends AbstractBehavior<BackendActor.Command> {

  public sealed interface Command {}

  /** A connect to this backend failed on the data plane; {@code streak} counts failures in a row. */
  public record PassiveFailure(int streak, String reason) implements Command {}

  /** New health-check settings for this backend (from a changed pool definition). */
  public record UpdateCheck(HealthCheckSettings check) implements Command {}

  private record RunCheck() implements Command {}

  private record CheckDone(long id, Optional<String> failure) implements Command {}

  private record CheckTimedOut(long id) implements Command {}

  /** Sent to the router on each transition. */
  public record Transition(ActorRef<Command> backend, HostPort address, Health health, String reason) {}

  private static final Object CHECK_TIMER = "check";
  private static final Object TIMEOUT_TIMER = "timeout";

  private final HostPort address;
  private final String pool;
  private final BackendStats stats;
  private final ActorRef<Transition> router;
  private final TimerScheduler<Command> timers;
  private HealthCheckSettings check;
  private Health health = Health.UNKNOWN;
  private int passes;
  private int failures;
  private long checkId;
  private boolean checkRunning;

  public static Behavior<Command> create(
      String pool, HostPort address, HealthCheckSettings check, BackendStats stats, ActorRef<Transition> router) {
    return Behaviors.setup(
        ctx -> Behaviors.withTimers(timers -> new BackendActor(ctx, timers, pool, address, check, stats, router)));
  }

  private BackendActor(
      ActorContext<Command> ctx,
      TimerScheduler<Command> timers,
      String pool,
      HostPort address,
      HealthCheckSettings check,
      BackendStats stats,
      ActorRef<Transition> router) {
    super(ctx);
    // Pekko guesses the logger from the call stack on first use, and in the fat jar it guessed Pekko's ActorCell
    // (logged at WARN only) for some backends: their transitions were not logged.
    ctx.setLoggerName(BackendActor.class);
    this.timers = timers;
    this.pool = pool;
    this.address = address;
    this.check = check;
    this.stats = stats;
    this.router = router;
    ctx.getSelf().tell(new RunCheck());
    timers.startTimerWithFixedDelay(CHECK_TIMER, new RunCheck(), check.interval());
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(RunCheck.class, m -> startCheck())
        .onMessage(CheckDone.class, this::onCheckDone)
        .onMessage(CheckTimedOut.class, this::onCheckTimedOut)
        .onMessage(PassiveFailure.class, this::onPassiveFailure)
        .onMessage(UpdateCheck.class, this::onUpdateCheck)
        .build();
  }

  private Behavior<Command> startCheck() {
    if (checkRunning) return this;
    checkRunning = true;
    long id = ++checkId;
    timers.startSingleTimer(TIMEOUT_TIMER, new CheckTimedOut(id), check.timeout());
    getContext()
        .pipeToSelf(
            HealthProbe.run(getContext().getSystem(), address, check),
            (failure, error) -> new CheckDone(id, error == null ? failure : Optional.of(dev.fulcrum.Failures.describe(error))));
    return this;
  }

  private Behavior<Command> onCheckDone(CheckDone done) {
    if (done.id() != checkId || !checkRunning) return this;
    checkRunning = false;
    timers.cancel(TIMEOUT_TIMER);
    done.failure().ifPresentOrElse(reason -> checkFailed(reason, true), this::checkPassed);
    return this;
  }

  private Behavior<Command> onCheckTimedOut(CheckTimedOut timedOut) {
    if (timedOut.id() != checkId || !checkRunning) return this;
    checkRunning = false;
    // A first check can be slow for reasons of our own (a cold JVM, a busy machine): not a definite answer.
    checkFailed(check.kind().name().toLowerCase() + " check timed out after " + check.timeout().toMillis() + " ms", false);
    return this;
  }

  private void checkPassed() {
    failures = 0;
    passes++;
    if (health == Health.UNKNOWN) {
      transition(Health.UP, "first " + describeCheck() + " passed");
    } else if (health == Health.DOWN && passes >= check.rise()) {
      transition(Health.UP, passes + " consecutive " + describeCheck() + "s passed");
    }
  }

  /** A definite failure (refused, wrong answer) decides an unchecked backend's state at once; others count to fall. */
  private void checkFailed(String reason, boolean definite) {
    passes = 0;
    failures++;
    if (health == Health.UNKNOWN && definite) {
      transition(Health.DOWN, "first " + describeCheck() + " failed: " + reason);
    } else if (health != Health.DOWN && failures >= check.fall()) {
      transition(Health.DOWN, failures + " consecutive " + describeCheck() + "s failed, last: " + reason);
    }
  }

  private Behavior<Command> onPassiveFailure(PassiveFailure failure) {
    if (health != Health.DOWN && failure.streak() >= check.fall()) {
      passes = 0;
      transition(Health.DOWN, failure.streak() + " consecutive connect failures on the data plane, last: " + failure.reason());
    }
    return this;
  }

  private Behavior<Command> onUpdateCheck(UpdateCheck update) {
    if (!update.check().equals(check)) {
      check = update.check();
      timers.startTimerWithFixedDelay(CHECK_TIMER, new RunCheck(), check.interval());
    }
    return this;
  }

  private void transition(Health next, String reason) {
    getContext().getLog().info("pool {} backend {} is {}: {}", pool, address, next.label(), reason);
    health = next;
    if (next == Health.UP) stats.resetFailureStreak();
    router.tell(new Transition(getContext().getSelf(), address, next, reason));
  }

  private String describeCheck() {
    return check.kind() == HealthCheckSettings.Kind.HTTP ? "HTTP check" : "TCP check";
  }
}
