package dev.fulcrum.pool;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiFunction;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;

/**
 * One change on its way to an entity (a pool's, a route table's), for a caller that waits a bounded time. Unlike an
 * ask it hears two things: {@link PoolEntity.Started} (the entity is about to write the change) and the reply. A
 * caller left without a reply can then tell a change that never started, which the entity's deadline check keeps from
 * ever being applied, from one whose write was under way when the answer got lost.
 */
public final class ChangeCall {
  private ChangeCall() {}

  /** What the call learnt: the reply if one came in time, and whether the entity began writing the change. */
  public record Heard<R>(Optional<R> reply, boolean started) {}

  public sealed interface Message {}

  private record Answered(Object reply) implements Message {}

  private record WriteStarted() implements Message {}

  private record GiveUp() implements Message {}

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
      timers.startSingleTimer(new GiveUp(), wait);
      return waiting(heard, replyClass, false);
    }));
  }

  private static <R> Behavior<Message> waiting(CompletableFuture<Heard<R>> heard, Class<R> replyClass, boolean started) {
    return Behaviors.receive(Message.class)
        .onMessage(WriteStarted.class, m -> waiting(heard, replyClass, true))
        .onMessage(Answered.class, m -> {
          heard.complete(new Heard<>(Optional.of(replyClass.cast(m.reply())), true));
          return Behaviors.stopped();
        })
        .onMessage(GiveUp.class, m -> {
          heard.complete(new Heard<>(Optional.empty(), started));
          return Behaviors.stopped();
        })
        .build();
  }
}
