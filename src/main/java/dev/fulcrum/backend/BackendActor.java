package dev.fulcrum.backend;

import dev.fulcrum.config.HealthCheckSettings;
import dev.fulcrum.config.HostPort;
import dev.fulcrum.routing.BackendStats;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.PreRestart;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * Owns one backend's health on this node: runs active checks on a timer, counts passive connect failures reported by
 * the data plane, applies rise/fall, and tells its pool's router about each transition. The checks themselves run on
 * the event loops ({@link HealthProbes}) and report back as messages; at most one is in flight at a time, and the next
 * is scheduled only once it ended, so a backend that never answers holds one check connection per node, never more.
 */
public final class BackendActor extends AbstractBehavior<BackendActor.Command> {

  public sealed interface Command {}

  /** A connect to this backend failed on the data plane; {@code streak} counts failures in a row. */
  public record PassiveFailure(int streak, String reason) implements Command {}

  /** New health-check settings for this backend (from a changed pool definition). */
  public record UpdateCheck(HealthCheckSettings check) implements Command {}

  private record RunCheck() implements Command {}

  private record CheckDone(long id, HealthProbes.Outcome outcome) implements Command {}

  /** Sent to the router on each transition. */
  public record Transition(ActorRef<Command> backend, HostPort address, Health health, String reason) {}

  private static final Object CHECK_TIMER = "check";
  /** The first check runs within this of a backend's appearance, or within its interval if that is shorter. */
  static final Duration FIRST_CHECK_SPREAD = Duration.ofSeconds(1);
  /** Each next check runs up to this fraction of the interval later than the interval, as Envoy's interval jitter. */
  static final double INTERVAL_JITTER = 0.1;

  private final HostPort address;
  private final String pool;
  private final BackendStats stats;
  private final ActorRef<Transition> router;
  private final TimerScheduler<Command> timers;
  private final HealthProbes probes;
  private HealthCheckSettings check;
  private byte[] request;
  private Health health = Health.UNKNOWN;
  private int passes;
  private int failures;
  private long checkId;
  private HealthProbes.Probe running;

  public static Behavior<Command> create(
      String pool,
      HostPort address,
      HealthCheckSettings check,
      BackendStats stats,
      ActorRef<Transition> router,
      HealthProbes probes) {
    return Behaviors.setup(
        ctx -> Behaviors.withTimers(timers -> new BackendActor(ctx, timers, pool, address, check, stats, router, probes)));
  }

  private BackendActor(
      ActorContext<Command> ctx,
      TimerScheduler<Command> timers,
      String pool,
      HostPort address,
      HealthCheckSettings check,
      BackendStats stats,
      ActorRef<Transition> router,
      HealthProbes probes) {
    super(ctx);
    // Pekko guesses the logger from the call stack on first use, and in the fat jar it guessed Pekko's ActorCell
    // (logged at WARN only) for some backends: their transitions were not logged.
    ctx.setLoggerName(BackendActor.class);
    this.timers = timers;
    this.pool = pool;
    this.address = address;
    this.stats = stats;
    this.router = router;
    this.probes = probes;
    use(check);
    // Spread, so that the backends of a pool (and the nodes checking them) do not all check at the same instant.
    timers.startSingleTimer(CHECK_TIMER, new RunCheck(), firstCheckDelay(check.interval(), ThreadLocalRandom.current().nextDouble()));
  }

  /** When the first check runs, for a uniform {@code random} in [0, 1). */
  static Duration firstCheckDelay(Duration interval, double random) {
    Duration spread = interval.compareTo(FIRST_CHECK_SPREAD) < 0 ? interval : FIRST_CHECK_SPREAD;
    return Duration.ofNanos((long) (spread.toNanos() * random));
  }

  /** How long after a check ended the next one runs, for a uniform {@code random} in [0, 1). */
  static Duration nextCheckDelay(Duration interval, double random) {
    return interval.plusNanos((long) (interval.toNanos() * INTERVAL_JITTER * random));
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(RunCheck.class, m -> startCheck())
        .onMessage(CheckDone.class, this::onCheckDone)
        .onMessage(PassiveFailure.class, this::onPassiveFailure)
        .onMessage(UpdateCheck.class, this::onUpdateCheck)
        .onSignal(PostStop.class, s -> cancelCheck())
        .onSignal(PreRestart.class, s -> cancelCheck())
        .build();
  }

  private void use(HealthCheckSettings next) {
    check = next;
    request = next.kind() == HealthCheckSettings.Kind.HTTP ? HealthProbes.request(address, next) : null;
  }

  private Behavior<Command> startCheck() {
    if (running != null) return this;
    long id = ++checkId;
    running = probes.start(address, check, request);
    getContext().pipeToSelf(running.outcome(), (outcome, error) -> new CheckDone(id, error == null
        ? outcome
        : new HealthProbes.Failed(dev.fulcrum.Failures.describe(error))));
    return this;
  }

  private Behavior<Command> cancelCheck() {
    if (running != null) running.cancel();
    running = null;
    return this;
  }

  private Behavior<Command> onCheckDone(CheckDone done) {
    if (done.id() != checkId || running == null) return this;
    running = null;
    timers.startSingleTimer(CHECK_TIMER, new RunCheck(), nextCheckDelay(check.interval(), ThreadLocalRandom.current().nextDouble()));
    HealthProbes.Outcome outcome = done.outcome();
    if (outcome instanceof HealthProbes.Failed failed) checkFailed(failed.reason(), true);
    // A first check can be slow for reasons of our own (a cold JVM, a busy machine): not a definite answer.
    else if (outcome instanceof HealthProbes.TimedOut timedOut) checkFailed(timedOut.reason(), false);
    else checkPassed();
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
      use(update.check());
      // a check in flight schedules the next one when it ends, with the new interval
      if (running == null) {
        timers.startSingleTimer(CHECK_TIMER, new RunCheck(), firstCheckDelay(check.interval(), ThreadLocalRandom.current().nextDouble()));
      }
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
