package dev.fulcrum.backend;

import dev.fulcrum.config.HealthCheckSettings;
import dev.fulcrum.config.HostPort;
import dev.fulcrum.routing.BackendStats;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.PreRestart;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * Owns one backend's health on this node: runs active checks on a timer, counts passive connect failures reported by
 * the data plane, applies rise/fall, and tells its pool's router about each transition. The checks themselves run on
 * the event loops ({@link HealthProbes#schedule}) and report back as messages; at most one is in flight at a time, and
 * the next starts only once it ended, so a backend that never answers holds one check connection per node, never more.
 * Only outcomes that can change what this actor knows reach it ({@link HealthProbes#redundant}): a steady backend,
 * up or down, costs no message per check.
 */
public final class BackendActor extends AbstractBehavior<BackendActor.Command> {

  public sealed interface Command {}

  /** A connect to this backend failed on the data plane; {@code streak} counts failures in a row. */
  public record PassiveFailure(int streak, String reason) implements Command {}

  /** New health-check settings for this backend (from a changed pool definition). */
  public record UpdateCheck(HealthCheckSettings check) implements Command {}

  /** The pool's TLS to its backends changed: checks speak the new one (null: plain) from the next on. */
  public record UpdateTls(dev.fulcrum.tls.BackendTls tls) implements Command {}

  private record CheckDone(HealthProbes.Outcome outcome) implements Command {}

  /** Sent to the router on each transition. */
  public record Transition(ActorRef<Command> backend, HostPort address, Health health, String reason) {}

  private final HostPort address;
  private final String pool;
  private final BackendStats stats;
  private final ActorRef<Transition> router;
  private final HealthProbes.Schedule checks;
  private HealthCheckSettings check;
  private Health health = Health.UNKNOWN;
  private int passes;
  private int failures;

  public static Behavior<Command> create(
      String pool,
      HostPort address,
      HealthCheckSettings check,
      BackendStats stats,
      ActorRef<Transition> router,
      HealthProbes probes) {
    return create(pool, address, check, stats, router, probes, () -> null);
  }

  /**
   * As above; checks speak the TLS {@code tls} gives (null: plain), read when the actor starts (also after a restart)
   * and updated by {@link UpdateTls}.
   */
  public static Behavior<Command> create(
      String pool,
      HostPort address,
      HealthCheckSettings check,
      BackendStats stats,
      ActorRef<Transition> router,
      HealthProbes probes,
      java.util.function.Supplier<dev.fulcrum.tls.BackendTls> tls) {
    return Behaviors.setup(ctx -> new BackendActor(ctx, pool, address, check, stats, router, probes, tls.get()));
  }

  private BackendActor(
      ActorContext<Command> ctx,
      String pool,
      HostPort address,
      HealthCheckSettings check,
      BackendStats stats,
      ActorRef<Transition> router,
      HealthProbes probes,
      dev.fulcrum.tls.BackendTls tls) {
    super(ctx);
    // Pekko guesses the logger from the call stack on first use, and in the fat jar it guessed Pekko's ActorCell
    // (logged at WARN only) for some backends: their transitions were not logged.
    ctx.setLoggerName(BackendActor.class);
    this.pool = pool;
    this.address = address;
    this.check = check;
    this.stats = stats;
    this.router = router;
    ActorRef<Command> self = ctx.getSelf();
    // Timed on the event loop, not by actor timers: a check then starts without waking a dispatcher thread and
    // handing over to the loop; only its outcome crosses over, as one message.
    // every outcome is counted on the loop, also those that are not sent here (they could change nothing)
    dev.fulcrum.observe.HealthChecks counted =
        dev.fulcrum.observe.Observability.get(ctx.getSystem()).healthChecks(pool, address);
    this.checks = probes.schedule(address, check, request(check), tls,
        outcome -> self.tell(new CheckDone(outcome)), counted::count);
  }

  private byte[] request(HealthCheckSettings check) {
    return HealthProbes.requestFor(address, check);
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(CheckDone.class, this::onCheckDone)
        .onMessage(PassiveFailure.class, this::onPassiveFailure)
        .onMessage(UpdateCheck.class, this::onUpdateCheck)
        .onMessage(UpdateTls.class, update -> {
          checks.updateTls(update.tls());
          return this;
        })
        .onSignal(PostStop.class, s -> stopChecks())
        .onSignal(PreRestart.class, s -> stopChecks())
        .build();
  }

  private Behavior<Command> stopChecks() {
    checks.cancel();
    return this;
  }

  private Behavior<Command> onCheckDone(CheckDone done) {
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
      check = update.check();
      checks.update(check, request(check));
    }
    return this;
  }

  private void transition(Health next, String reason) {
    getContext().getLog().info("pool {} backend {} is {}: {}", pool, address, next.label(), reason);
    health = next;
    checks.healthIs(next);
    if (next == Health.UP) stats.resetFailureStreak();
    router.tell(new Transition(getContext().getSelf(), address, next, reason));
  }

  private String describeCheck() {
    return switch (check.kind()) {
      case HTTP -> "HTTP check";
      case GRPC -> "gRPC check";
      case TCP -> "TCP check";
    };
  }
}
