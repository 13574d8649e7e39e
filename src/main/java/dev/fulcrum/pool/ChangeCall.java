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
 * One change on its way to a pool's entity, for a caller that waits a bounded time. Unlike an ask it hears two things:
 * {@link PoolEntity.Started} (the entity is about to write the change) and the reply. A caller left without a reply
 * can then tell a change that never started, which the entity's deadline check keeps from ever being applied, from one
 * whose write was under way when the answer got lost.
 */
final class ChangeCall {
  private ChangeCall() {}

  /** What the call learnt: the reply if one came in time, and whether the entity began writing the change. */
  record Heard(Optional<PoolEntity.Reply> reply, boolean started) {}

  sealed interface Message {}

  private record Answered(PoolEntity.Reply reply) implements Message {}

  private record WriteStarted() implements Message {}

  private record GiveUp() implements Message {}

  static Behavior<Message> create(
      EntityRef<PoolEntity.Command> entity,
      PoolEntity.Request request,
      BiFunction<PoolEntity.Request, ActorRef<PoolEntity.Reply>, PoolEntity.Change> command,
      Duration wait,
      CompletableFuture<Heard> heard) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      ActorRef<PoolEntity.Reply> replies = ctx.messageAdapter(PoolEntity.Reply.class, Answered::new);
      ActorRef<PoolEntity.Started> started = ctx.messageAdapter(PoolEntity.Started.class, s -> new WriteStarted());
      entity.tell(command.apply(request.withStartedTo(started), replies));
      timers.startSingleTimer(new GiveUp(), wait);
      return waiting(heard, false);
    }));
  }

  private static Behavior<Message> waiting(CompletableFuture<Heard> heard, boolean started) {
    return Behaviors.receive(Message.class)
        .onMessage(WriteStarted.class, m -> waiting(heard, true))
        .onMessage(Answered.class, m -> {
          heard.complete(new Heard(Optional.of(m.reply()), true));
          return Behaviors.stopped();
        })
        .onMessage(GiveUp.class, m -> {
          heard.complete(new Heard(Optional.empty(), started));
          return Behaviors.stopped();
        })
        .build();
  }
}
