package dev.fulcrum.events;

import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * One per node: hands every published {@link FulcrumEvent} to the subscribers whose filter wants it, in the order
 * published. A subscriber has at most one {@link Delivery} (a batch) in its mailbox at a time; it {@link Delivery#ack()}s
 * it when done, and gets the next batch: what was published meanwhile, up to its buffer size. When its buffer is full
 * the oldest event is dropped and counted, and the next batch starts with {@link FulcrumEvent.EventsDropped}. So a
 * subscriber that is slow, or never reads, costs the hub a bounded buffer and never holds up whoever publishes:
 * publishing is a {@code tell}. A subscriber that stops is dropped (the hub watches it).
 *
 * <p>Journaled changes come from a {@link JournalDemand} ({@link JournalFeed}), which reads the journal only while a
 * subscription wants them: an idle node queries no database.
 */
public final class EventHub extends AbstractBehavior<EventHub.Command> {

  public sealed interface Command {}

  /** Hands the event to the subscribers. Node-local: the hub runs in the node's own actor system. */
  public record Publish(FulcrumEvent event) implements Command {}

  /**
   * Subscribes {@code subscriber} (again: a second Subscribe replaces its filter and buffer size, its buffered events
   * stay). {@code confirmTo}, if given, is told {@link Subscribed} once every event published after this point reaches
   * the subscriber, and, when the filter takes journaled changes, once every change committed from then on will be
   * published (the journal is being followed). {@code label} says who subscribes in {@link GetSubscribers} (empty: the actor's path). With
   * {@code snapshot}, the subscriber first gets the current state as events (see {@link FulcrumEvents#snapshot}) and
   * {@link FulcrumEvent.SnapshotEnd}, then the live events published since it subscribed: none lost, a change during
   * the snapshot possibly told twice (in the snapshot's state and as a live event).
   */
  public record Subscribe(ActorRef<Delivery> subscriber, EventFilter filter, int bufferSize,
      Optional<ActorRef<Subscribed>> confirmTo, Optional<String> label, boolean snapshot) implements Command {
    public Subscribe {
      if (bufferSize < 1 || bufferSize > MAX_BUFFER) {
        throw new IllegalArgumentException("bufferSize " + bufferSize + " is outside 1-" + MAX_BUFFER);
      }
      confirmTo = confirmTo == null ? Optional.empty() : confirmTo;
      label = label == null ? Optional.empty() : label;
    }

    public Subscribe(
        ActorRef<Delivery> subscriber, EventFilter filter, int bufferSize, Optional<ActorRef<Subscribed>> confirmTo, Optional<String> label) {
      this(subscriber, filter, bufferSize, confirmTo, label, false);
    }

    public Subscribe(ActorRef<Delivery> subscriber, EventFilter filter, int bufferSize, Optional<ActorRef<Subscribed>> confirmTo) {
      this(subscriber, filter, bufferSize, confirmTo, Optional.empty());
    }

    public Subscribe(ActorRef<Delivery> subscriber, EventFilter filter, int bufferSize) {
      this(subscriber, filter, bufferSize, Optional.empty(), Optional.empty());
    }
  }

  /** The largest buffer a subscriber may ask for. */
  public static final int MAX_BUFFER = 1_000_000;

  public record Subscribed(ActorRef<Delivery> subscriber) {}

  /** Ends the subscription; buffered events are discarded. A subscriber that stops is unsubscribed by itself. */
  public record Unsubscribe(ActorRef<Delivery> subscriber) implements Command {}

  /** The subscriber is done with its last delivery and takes the next. */
  public record Ack(ActorRef<Delivery> subscriber) implements Command {}

  public record GetSubscribers(ActorRef<Subscribers> replyTo) implements Command {}

  /**
   * Whoever reads the journal's changes and publishes them here. Reading costs database queries every refresh interval
   * (pekko-persistence-jdbc polls), so it is asked to read only while some subscription wants journaled changes.
   */
  public interface JournalDemand {
    /**
     * A subscription wants journaled changes: follow the journal. Completes once every change committed from the
     * moment it completes will be published (also when there is nothing to follow now: between cluster incarnations).
     */
    CompletionStage<Done> wanted();

    /** No subscription wants journaled changes any more: stop reading. */
    void unwanted();
  }

  /** {@code demand} publishes the journaled changes; the hub tells it whether any subscription wants them. */
  public record FollowJournal(JournalDemand demand) implements Command {}

  /** The journal is followed now: the subscriber's confirmation may go. */
  private record JournalLive(ActorRef<Subscribed> confirmTo, ActorRef<Delivery> subscriber) implements Command {}

  private record Stopped(ActorRef<Delivery> subscriber) implements Command {}

  /** The state a subscriber asked for, gathered after it subscribed (or the reason it could not be). */
  private record SnapshotTaken(ActorRef<Delivery> subscriber, List<FulcrumEvent> events, String problem) implements Command {}

  /**
   * Events for one subscriber, oldest first. Call {@link #ack()} once they are handled: until then the hub sends nothing
   * more and buffers (and, when the buffer is full, drops the oldest).
   */
  public record Delivery(List<FulcrumEvent> events, ActorRef<Command> hub, ActorRef<Delivery> subscriber) {
    public Delivery {
      events = List.copyOf(events);
    }

    public void ack() {
      hub.tell(new Ack(subscriber));
    }
  }

  /** The subscriptions of the moment, and every drop since the hub started (gone subscribers' too). */
  public record Subscribers(List<Subscriber> subscribers, long droppedTotal) {
    public Subscribers {
      subscribers = List.copyOf(subscribers);
    }
  }

  /**
   * @param path the subscriber's actor path
   * @param label who subscribed ("GET /api/events from 127.0.0.1:50312", "stream"), or the path
   * @param buffered events waiting for the subscriber's next ack
   * @param awaitingAck whether a delivery is out and not yet acknowledged
   */
  public record Subscriber(String path, String label, EventFilter filter, int bufferSize, int buffered, long delivered, long dropped, boolean awaitingAck) {}

  private static final class Subscription {
    final ActorRef<Delivery> ref;
    String label;
    EventFilter filter;
    int bufferSize;
    final ArrayDeque<FulcrumEvent> buffer = new ArrayDeque<>();
    boolean awaitingAck;
    /** Live events wait in the buffer until the snapshot has gone out ahead of them. */
    boolean awaitingSnapshot;
    long delivered;
    long dropped;
    long unreported;

    Subscription(ActorRef<Delivery> ref, EventFilter filter, int bufferSize) {
      this.ref = ref;
      this.filter = filter;
      this.bufferSize = bufferSize;
    }
  }

  private final Map<ActorRef<Delivery>, Subscription> subscriptions = new LinkedHashMap<>();
  private final AtomicLong droppedTotal;
  private final AtomicInteger subscriberCount;
  private final Supplier<CompletionStage<List<FulcrumEvent>>> snapshot;
  private JournalDemand journal;
  /** While a subscription wants journaled changes: completes when the journal is followed; null otherwise. */
  private CompletionStage<Done> journalLive;

  /** {@code droppedTotal} and {@code subscriberCount} are kept up to date for the metrics registry. */
  public static Behavior<Command> create(AtomicLong droppedTotal, AtomicInteger subscriberCount) {
    return create(droppedTotal, subscriberCount, () -> CompletableFuture.completedFuture(List.of()));
  }

  /** {@code snapshot} gathers the node's current state as events, without blocking, for a Subscribe that asks. */
  public static Behavior<Command> create(
      AtomicLong droppedTotal, AtomicInteger subscriberCount, Supplier<CompletionStage<List<FulcrumEvent>>> snapshot) {
    return Behaviors.setup(ctx -> new EventHub(ctx, droppedTotal, subscriberCount, snapshot));
  }

  private EventHub(ActorContext<Command> ctx, AtomicLong droppedTotal, AtomicInteger subscriberCount,
      Supplier<CompletionStage<List<FulcrumEvent>>> snapshot) {
    super(ctx);
    this.droppedTotal = droppedTotal;
    this.subscriberCount = subscriberCount;
    this.snapshot = snapshot;
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Publish.class, this::onPublish)
        .onMessage(Subscribe.class, this::onSubscribe)
        .onMessage(Unsubscribe.class, m -> remove(m.subscriber(), true))
        .onMessage(Stopped.class, m -> remove(m.subscriber(), false))
        .onMessage(Ack.class, this::onAck)
        .onMessage(GetSubscribers.class, this::onGetSubscribers)
        .onMessage(SnapshotTaken.class, this::onSnapshot)
        .onMessage(FollowJournal.class, this::onFollowJournal)
        .onMessage(JournalLive.class, m -> {
          m.confirmTo().tell(new Subscribed(m.subscriber()));
          return this;
        })
        .build();
  }

  private Behavior<Command> onPublish(Publish publish) {
    FulcrumEvent event = publish.event();
    for (Subscription s : subscriptions.values()) {
      if (!s.filter.matches(event)) continue;
      if (!s.awaitingAck && !s.awaitingSnapshot) {
        deliver(s, List.of(event));
        continue;
      }
      if (s.buffer.size() >= s.bufferSize) {
        s.buffer.pollFirst();
        s.dropped++;
        s.unreported++;
        droppedTotal.incrementAndGet();
      }
      s.buffer.addLast(event);
    }
    return this;
  }

  private Behavior<Command> onSubscribe(Subscribe subscribe) {
    Subscription s = subscriptions.get(subscribe.subscriber());
    if (s == null) {
      Subscription added = new Subscription(subscribe.subscriber(), subscribe.filter(), subscribe.bufferSize());
      added.label = subscribe.label().orElse(subscribe.subscriber().path().toString());
      subscriptions.put(subscribe.subscriber(), added);
      getContext().watchWith(subscribe.subscriber(), new Stopped(subscribe.subscriber()));
      subscriberCount.set(subscriptions.size());
    } else {
      subscribe.label().ifPresent(l -> s.label = l);
      s.filter = subscribe.filter();
      s.bufferSize = subscribe.bufferSize();
      while (s.buffer.size() > s.bufferSize) {
        s.buffer.pollFirst();
        s.dropped++;
        s.unreported++;
        droppedTotal.incrementAndGet();
      }
    }
    journalDemandChanged();
    subscribe.confirmTo().ifPresent(c -> {
      if (journalLive == null || !subscribe.filter().wantsKind(FulcrumEvent.Kind.POOL_CHANGED)) {
        c.tell(new Subscribed(subscribe.subscriber()));
      } else {
        // a change committed after the confirmation must reach the subscriber: not before the journal is followed
        getContext().pipeToSelf(journalLive, (done, failure) -> new JournalLive(c, subscribe.subscriber()));
      }
    });
    if (subscribe.snapshot()) takeSnapshot(subscriptions.get(subscribe.subscriber()));
    return this;
  }

  /**
   * Gathered after the subscription is in place, so that whatever changed before it shows in the snapshot and whatever
   * changes after it comes as a live event (buffered until the snapshot is out).
   */
  private void takeSnapshot(Subscription s) {
    s.awaitingSnapshot = true;
    ActorRef<Delivery> ref = s.ref;
    CompletionStage<List<FulcrumEvent>> taken;
    try {
      taken = snapshot.get();
    } catch (RuntimeException e) {
      taken = CompletableFuture.failedFuture(e);
    }
    getContext().pipeToSelf(taken, (events, failure) -> failure == null
        ? new SnapshotTaken(ref, events, null)
        : new SnapshotTaken(ref, List.of(), dev.fulcrum.Failures.describe(failure)));
  }

  private Behavior<Command> onSnapshot(SnapshotTaken taken) {
    Subscription s = subscriptions.get(taken.subscriber());
    if (s == null || !s.awaitingSnapshot) return this;
    s.awaitingSnapshot = false;
    List<FulcrumEvent> first = new ArrayList<>();
    for (FulcrumEvent e : taken.events()) if (s.filter.matches(e)) first.add(e);
    first.add(new FulcrumEvent.SnapshotEnd(first.size(), Optional.ofNullable(taken.problem()), Instant.now()));
    // ahead of the live events that waited, whatever the buffer's size
    for (int i = first.size() - 1; i >= 0; i--) s.buffer.addFirst(first.get(i));
    if (!s.awaitingAck) onAck(new Ack(s.ref));
    return this;
  }

  private Behavior<Command> remove(ActorRef<Delivery> subscriber, boolean unwatch) {
    if (subscriptions.remove(subscriber) != null && unwatch) getContext().unwatch(subscriber);
    subscriberCount.set(subscriptions.size());
    journalDemandChanged();
    return this;
  }

  private Behavior<Command> onFollowJournal(FollowJournal follow) {
    if (journal != null && journalLive != null) journal.unwanted();
    journal = follow.demand();
    journalLive = null;
    journalDemandChanged();
    return this;
  }

  /** Tells the journal's reader whether a subscription wants journaled changes, when that changed. */
  private void journalDemandChanged() {
    if (journal == null) return;
    boolean wanted = false;
    for (Subscription s : subscriptions.values()) {
      if (s.filter.wantsKind(FulcrumEvent.Kind.POOL_CHANGED)) {
        wanted = true;
        break;
      }
    }
    if (wanted && journalLive == null) {
      CompletionStage<Done> live;
      try {
        live = journal.wanted();
      } catch (RuntimeException e) {
        live = CompletableFuture.failedFuture(e);
      }
      journalLive = live;
    } else if (!wanted && journalLive != null) {
      journalLive = null;
      journal.unwanted();
    }
  }

  private Behavior<Command> onAck(Ack ack) {
    Subscription s = subscriptions.get(ack.subscriber());
    if (s == null) return this;
    s.awaitingAck = false;
    if (s.awaitingSnapshot || (s.buffer.isEmpty() && s.unreported == 0)) return this;
    List<FulcrumEvent> batch = new ArrayList<>(s.buffer.size() + 1);
    if (s.unreported > 0) {
      batch.add(new FulcrumEvent.EventsDropped(s.unreported, s.dropped, Instant.now()));
      s.unreported = 0;
    }
    batch.addAll(s.buffer);
    s.buffer.clear();
    deliver(s, batch);
    return this;
  }

  private void deliver(Subscription s, List<FulcrumEvent> events) {
    s.awaitingAck = true;
    s.delivered += events.size();
    s.ref.tell(new Delivery(events, getContext().getSelf(), s.ref));
  }

  private Behavior<Command> onGetSubscribers(GetSubscribers get) {
    List<Subscriber> list = new ArrayList<>();
    subscriptions.values().forEach(s -> list.add(new Subscriber(
        s.ref.path().toString(), s.label, s.filter, s.bufferSize, s.buffer.size(), s.delivered, s.dropped, s.awaitingAck)));
    get.replyTo().tell(new Subscribers(list, droppedTotal.get()));
    return this;
  }
}
