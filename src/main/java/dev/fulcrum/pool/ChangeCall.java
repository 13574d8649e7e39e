package dev.fulcrum.pool;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiFunction;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;

/**
 * One change on its way to an entity (a pool's, a route table's), for a caller that waits a bounded time. Unlike an
 * ask it hears two things: {@link PoolEntity.Started} (the entity is about to write the change) and the reply. A
 * caller left without a reply can then tell a change that never started, which the entity's deadline check keeps from
 * ever being applied, from one whose write was under way when the answer got lost.
 */
public final class ChangeCall {
  private ChangeCall() {}

  /**
   * What the call learnt: the reply if one came in time, whether the entity began writing the change, and whether
   * this node was paused while it waited (its give-up came more than {@link #LATE} after it was due: a stopped
   * process, a long GC pause, a frozen VM). A paused node cannot tell a change that never started: the entity's
   * "started" and its reply may be waiting, unread, behind the give-up that the resumed node handled first.
   */
  public record Heard<R>(Optional<R> reply, boolean started, boolean paused) {
    /** Why no answer came, for the caller's "outcome unknown". */
    public String silence() {
      if (started) return "after it began writing the change";
      if (paused) return "while this node was paused";
      return "while a cluster member was unreachable or leaving";
    }
  }

  /** A give-up this much later than it was due says the node was paused, not only busy. */
  static final Duration LATE = Duration.ofSeconds(1);

  /**
   * How long a call still listens after its give-up, counted from when the give-up is handled: a node resumed from a
   * pause handles its overdue timer before the entity's "started" and reply that reached it meanwhile, which its
   * remoting reads within milliseconds after. Taken from the call's wait, so an undisturbed call ends when it did.
   */
  static final Duration LAST_LOOK = Duration.ofMillis(250);

  public sealed interface Message {}

  private record Answered(Object reply) implements Message {}

  private record WriteStarted() implements Message {}

  private record GiveUp() implements Message {}

  private record LastLook() implements Message {}

  public static <C, R> Behavior<Message> create(
      EntityRef<C> entity,
      PoolEntity.Request request,
      BiFunction<PoolEntity.Request, ActorRef<R>, ? extends C> command,
      Class<R> replyClass,
      Duration wait,
      CompletableFuture<Heard<R>> heard) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      ActorRef<R> replies = ctx.messageAdapter(replyClass, Answered::new);
      ActorRef<PoolEntity.Started> started = ctx.messageAdapter(PoolEntity.Started.class, s -> new WriteStarted());
      entity.tell(command.apply(request.withStartedTo(started), replies));
      Duration giveUp = wait.compareTo(LAST_LOOK) > 0 ? wait.minus(LAST_LOOK) : Duration.ZERO;
      timers.startSingleTimer(new GiveUp(), giveUp);
      return waiting(heard, replyClass, false, timers, System.nanoTime() + giveUp.toNanos());
    }));
  }

  private static <R> Behavior<Message> waiting(CompletableFuture<Heard<R>> heard, Class<R> replyClass, boolean started,
      TimerScheduler<Message> timers, long due) {
    return Behaviors.receive(Message.class)
        .onMessage(WriteStarted.class, m -> waiting(heard, replyClass, true, timers, due))
        .onMessage(Answered.class, m -> answered(heard, replyClass, m))
        .onMessage(GiveUp.class, m -> {
          timers.startSingleTimer(new LastLook(), LAST_LOOK);
          return lastLook(heard, replyClass, started, System.nanoTime() - due > LATE.toNanos());
        })
        .build();
  }

  private static <R> Behavior<Message> lastLook(CompletableFuture<Heard<R>> heard, Class<R> replyClass, boolean started,
      boolean paused) {
    return Behaviors.receive(Message.class)
        .onMessage(WriteStarted.class, m -> lastLook(heard, replyClass, true, paused))
        .onMessage(Answered.class, m -> answered(heard, replyClass, m))
        .onMessage(LastLook.class, m -> {
          heard.complete(new Heard<>(Optional.empty(), started, paused));
          return Behaviors.stopped();
        })
        .build();
  }

  private static <R> Behavior<Message> answered(CompletableFuture<Heard<R>> heard, Class<R> replyClass, Answered m) {
    heard.complete(new Heard<>(Optional.of(replyClass.cast(m.reply())), true, false));
    return Behaviors.stopped();
  }
}
