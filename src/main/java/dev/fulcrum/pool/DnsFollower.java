package dev.fulcrum.pool;

import dev.fulcrum.Failures;
import dev.fulcrum.config.DiscoverySettings;
import dev.fulcrum.config.DiscoverySettings.DnsName;
import dev.fulcrum.config.HostPort;
import dev.fulcrum.discovery.DnsResolver;
import dev.fulcrum.discovery.RecordDiff;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * A pool's DNS names, followed by a child of the pool's entity: it runs wherever sharding runs the entity and moves
 * with it, so in a cluster exactly one node resolves a pool's names and no two nodes race each other with the same
 * changes. Each name is resolved (never blocking: the answer comes back as a message), asked again when its records'
 * TTL ends (held within the pool's bounds), and what changed is sent to the entity as ordinary commands with origin
 * {@code dns <name>}, one at a time and each with a deadline, so they are journaled, replicated and answered as any
 * other change. A name that fails keeps its last good backends; the failure is logged, counted and shown in the
 * pool's API answer. Knowledge of which backend came from which name lives in the pool's state (from the events'
 * origins), so a follower that starts afresh on another node removes what it must and nothing else.
 */
final class DnsFollower extends AbstractBehavior<DnsFollower.Command> {
  sealed interface Command {}

  /** The entity's state after a change (from any origin). */
  record PoolChanged(PoolState state) implements Command {}

  record GetStatus(ActorRef<DiscoveryStatus> replyTo) implements Command {}

  private record Resolve(int index) implements Command {}

  private record Resolved(int index, DnsResolver.Answer answer, Throwable failure) implements Command {}

  private record Answered(RecordDiff.Change change, PoolEntity.Reply reply, Throwable failure) implements Command {}

  private record Retry() implements Command {}

  /** How long a change of ours may wait for its turn at the entity (the deadline of its request). */
  static final Duration CHANGE_DEADLINE = Duration.ofSeconds(5);

  private final String pool;
  private final DiscoverySettings settings;
  private final PoolDiscovery discovery;
  private final ActorRef<PoolEntity.Command> entity;
  private final TimerScheduler<Command> timers;
  private final Duration answerWait;
  private final NameState[] names;
  private PoolState state;
  /** Changes of the current round still to send; the head is in flight while {@link #applying}. */
  private final ArrayDeque<RecordDiff.Change> pending = new ArrayDeque<>();
  private boolean applying;
  private boolean stale;

  private static final class NameState {
    final DnsName name;
    Set<HostPort> good;
    Instant resolved;
    String error;
    long failures;
    Instant next;

    NameState(DnsName name) {
      this.name = name;
    }
  }

  static Behavior<Command> create(
      String pool, DiscoverySettings settings, PoolDiscovery discovery, ActorRef<PoolEntity.Command> entity,
      PoolState state, Duration writeTimeout) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers ->
        new DnsFollower(ctx, timers, pool, settings, discovery, entity, state, writeTimeout)));
  }

  private DnsFollower(
      ActorContext<Command> ctx, TimerScheduler<Command> timers, String pool, DiscoverySettings settings,
      PoolDiscovery discovery, ActorRef<PoolEntity.Command> entity, PoolState state, Duration writeTimeout) {
    super(ctx);
    this.timers = timers;
    this.pool = pool;
    this.settings = settings;
    this.discovery = discovery;
    this.entity = entity;
    this.state = state;
    this.answerWait = CHANGE_DEADLINE.plus(writeTimeout).plus(PoolControl.ANSWER_MARGIN);
    this.names = new NameState[settings.names().size()];
    for (int i = 0; i < names.length; i++) {
      names[i] = new NameState(settings.names().get(i));
      ctx.getSelf().tell(new Resolve(i));
    }
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Resolve.class, this::resolve)
        .onMessage(Resolved.class, this::resolved)
        .onMessage(PoolChanged.class, m -> {
          if (m.state().version() >= state.version()) state = m.state();
          reconcile();
          return this;
        })
        .onMessage(Answered.class, this::answered)
        .onMessage(Retry.class, m -> {
          reconcile();
          return this;
        })
        .onMessage(GetStatus.class, m -> {
          m.replyTo().tell(status());
          return this;
        })
        .build();
  }

  private Behavior<Command> resolve(Resolve m) {
    NameState n = names[m.index()];
    n.next = null;
    getContext().pipeToSelf(discovery.resolver().resolve(n.name),
        (answer, failure) -> new Resolved(m.index(), answer, failure));
    return this;
  }

  private Behavior<Command> resolved(Resolved m) {
    NameState n = names[m.index()];
    Duration again;
    if (m.failure() == null) {
      Set<HostPort> before = n.good;
      n.good = m.answer().addresses();
      n.resolved = Instant.now();
      if (n.error != null) {
        getContext().getLog().info("pool {}: DNS name {} resolves {}: {}", pool, n.name.source(),
            before == null ? "now" : "again", sorted(n.good));
      }
      n.error = null;
      again = settings.dns().refreshAfter(m.answer().ttl());
      if (!n.good.equals(before)) reconcile();
    } else {
      String why = Failures.unwrap(m.failure()) instanceof DnsResolver.Failure f ? f.getMessage() : Failures.describe(m.failure());
      boolean news = !why.equals(n.error);
      n.error = why;
      n.failures++;
      discovery.failed().accept(pool, n.name.source());
      if (news) {
        if (n.good == null) {
          getContext().getLog().warn("pool {}: DNS name {} does not resolve ({}); the pool runs with the backends it has, "
              + "and the name is asked again every {}", pool, n.name.source(), why, settings.dns().minTtl());
        } else {
          getContext().getLog().warn("pool {}: DNS name {} failed to resolve ({}); keeping its last good backends {}",
              pool, n.name.source(), why, sorted(n.good));
        }
      }
      again = settings.dns().minTtl();
    }
    n.next = Instant.now().plus(again);
    timers.startSingleTimer(m.index(), new Resolve(m.index()), again);
    return this;
  }

  /** Sends what DNS and the pool disagree on, unless a round is under way (then it runs again once that one ends). */
  private void reconcile() {
    if (applying) {
      stale = true;
      return;
    }
    if (!state.exists()) return;
    Map<String, Set<HostPort>> answers = new HashMap<>();
    for (NameState n : names) if (n.good != null) answers.put(n.name.source(), n.good);
    Set<HostPort> backends = new HashSet<>();
    state.pool().backends().forEach(b -> backends.add(b.address()));
    pending.clear();
    pending.addAll(RecordDiff.between(settings.names(), answers, backends, state.discoveredBackends()));
    sendNext();
  }

  private void sendNext() {
    RecordDiff.Change change = pending.peek();
    if (change == null) {
      applying = false;
      if (stale) {
        stale = false;
        reconcile();
      }
      return;
    }
    applying = true;
    PoolEntity.Request request = PoolEntity.Request.of(RecordDiff.originOf(change.source()), CHANGE_DEADLINE);
    getContext().ask(PoolEntity.Reply.class, entity, answerWait, replyTo -> change instanceof RecordDiff.Add add
            ? new PoolEntity.AddBackend(add.address(), add.weight(), request, replyTo)
            : new PoolEntity.RemoveBackend(change.address(), request, replyTo),
        (reply, failure) -> new Answered(change, reply, failure));
  }

  private Behavior<Command> answered(Answered m) {
    pending.poll();
    String what = (m.change() instanceof RecordDiff.Add ? "add" : "remove") + " backend " + m.change().address()
        + " (DNS name " + m.change().source() + ")";
    PoolEntity.Reply reply = m.reply();
    if (reply instanceof PoolEntity.Ok ok) {
      if (ok.state().version() >= state.version()) state = ok.state();
      getContext().getLog().info("pool {}: {}: done, version {}", pool, what, ok.state().version());
      sendNext();
    } else if (reply instanceof PoolEntity.Rejected r
        && (r.reason() == PoolEntity.Reason.ALREADY_EXISTS || r.reason() == PoolEntity.Reason.NO_SUCH_BACKEND)) {
      // someone else made the change first: the next PoolChanged brings the state that shows it
      sendNext();
    } else if (reply instanceof PoolEntity.Rejected r && r.reason() == PoolEntity.Reason.NO_SUCH_POOL) {
      pending.clear();
      sendNext();
    } else {
      // not applied, or its outcome unknown: this round stops; the next one starts from the state the entity has then
      String why = reply instanceof PoolEntity.Rejected r ? "not applied (" + r.reason() + "): " + r.message()
          : reply instanceof PoolEntity.OutcomeUnknown u ? "outcome unknown: " + u.message()
          : "no answer from the pool's entity: " + Failures.describe(m.failure());
      getContext().getLog().warn("pool {}: {}: {}; trying again in {}", pool, what, why, settings.dns().minTtl());
      pending.clear();
      applying = false;
      stale = false;
      timers.startSingleTimer("retry", new Retry(), settings.dns().minTtl());
    }
    return this;
  }

  private DiscoveryStatus status() {
    List<DiscoveryStatus.Name> list = new java.util.ArrayList<>();
    for (NameState n : names) {
      list.add(new DiscoveryStatus.Name(n.name.source(), n.good == null ? List.of() : sorted(n.good), n.resolved, n.error,
          n.failures, n.next));
    }
    return new DiscoveryStatus(list);
  }

  private static List<String> sorted(Set<HostPort> addresses) {
    return addresses.stream().map(HostPort::toString).sorted().toList();
  }
}
