package dev.fulcrum.events;

import dev.fulcrum.config.EventSettings;
import dev.fulcrum.observe.Observability;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.stream.javadsl.Source;

/**
 * The node's {@link EventHub}, found with {@link #get}: whatever changes publishes here with {@link #publish} (one
 * {@code tell}, never waits), and subscribers subscribe with {@link EventHub.Subscribe} to {@link #hub()} or take a
 * {@link #source}. Lives in the node's own actor system, which outlives cluster incarnations.
 */
public final class FulcrumEvents implements Extension {
  private static final ExtensionId<FulcrumEvents> ID = new ExtensionId<>() {
    @Override
    public FulcrumEvents createExtension(ActorSystem<?> system) {
      FulcrumEvents node = INCARNATIONS.get(system);
      return node != null ? node : new FulcrumEvents(system);
    }
  };

  /** Cluster incarnations and the hub of the node they belong to. */
  private static final java.util.Map<ActorSystem<?>, FulcrumEvents> INCARNATIONS = new java.util.concurrent.ConcurrentHashMap<>();

  private final ActorRef<EventHub.Command> hub;
  private final EventSettings settings;
  private final AtomicLong dropped = new AtomicLong();
  private final AtomicInteger subscribers = new AtomicInteger();
  private final ActorSystem<?> system;
  private final java.util.concurrent.atomic.AtomicReference<java.util.function.Supplier<CompletionStage<java.util.List<FulcrumEvent>>>> snapshot =
      new java.util.concurrent.atomic.AtomicReference<>(() -> java.util.concurrent.CompletableFuture.completedFuture(java.util.List.of()));

  private FulcrumEvents(ActorSystem<?> system) {
    this.system = system;
    this.settings = EventSettings.parse(system.settings().config());
    this.hub = system.systemActorOf(EventHub.create(dropped, subscribers, () -> snapshot.get().get()), "event-hub", Props.empty());
    var registry = Observability.get(system).registry();
    FunctionCounter.builder("fulcrum.events.dropped", dropped, AtomicLong::get)
        .description("Events dropped for subscribers that fell behind (the oldest of their buffer)")
        .register(registry);
    Gauge.builder("fulcrum.events.subscribers", subscribers, AtomicInteger::get)
        .description("Subscriptions to this node's events (actors, streams, GET /api/events)")
        .register(registry);
  }

  /**
   * The node's events. Also from a cluster incarnation of the node (where sharded entities run): there {@code get}
   * answers the node's own hub, so code publishes the same way wherever it runs.
   */
  public static FulcrumEvents get(ActorSystem<?> system) {
    return ID.apply(system);
  }

  /** Makes {@link #get} on {@code incarnation} answer this node's hub; call before anything in it publishes. */
  public void link(ActorSystem<?> incarnation) {
    INCARNATIONS.put(incarnation, this);
    incarnation.getWhenTerminated().thenRun(() -> INCARNATIONS.remove(incarnation));
  }

  /**
   * Sets what a subscription that asks for a snapshot gets first: the node's current state as events, gathered
   * without blocking (the node sets it once at start: backends' health, pools' and route tables' versions).
   */
  public void snapshot(java.util.function.Supplier<CompletionStage<java.util.List<FulcrumEvent>>> gather) {
    snapshot.set(gather);
  }

  public ActorRef<EventHub.Command> hub() {
    return hub;
  }

  public EventSettings settings() {
    return settings;
  }

  /**
   * Makes {@code demand} the reader of this node's journaled changes: the hub asks it to read while a subscription
   * wants them (see {@link EventHub.JournalDemand}).
   */
  public void followJournal(EventHub.JournalDemand demand) {
    hub.tell(new EventHub.FollowJournal(demand));
  }

  /** Hands the event to this node's subscribers; returns at once. */
  public void publish(FulcrumEvent event) {
    hub.tell(new EventHub.Publish(event));
  }

  /**
   * This node's events from the moment the stream is materialized and its subscription is in place (the materialized
   * stage completes then), paced by downstream's demand. Events downstream does not take in time wait in a buffer of
   * {@code bufferSize}; when it is full the oldest are dropped, counted, and announced in the stream by
   * {@link FulcrumEvent.EventsDropped}. Cancelling the stream ends the subscription.
   */
  public Source<FulcrumEvent, CompletionStage<Done>> source(EventFilter filter, int bufferSize) {
    return source(filter, bufferSize, "stream");
  }

  /** As {@link #source(EventFilter, int)}; {@code label} names the subscription in {@link #subscribers}. */
  public Source<FulcrumEvent, CompletionStage<Done>> source(EventFilter filter, int bufferSize, String label) {
    return source(filter, bufferSize, label, false);
  }

  /**
   * As {@link #source(EventFilter, int)}; with {@code snapshot}, the stream starts with the node's current state (the
   * events {@link FulcrumEvent.SnapshotEnd} describes, then that event), then the live events.
   */
  public Source<FulcrumEvent, CompletionStage<Done>> source(EventFilter filter, int bufferSize, String label, boolean snapshot) {
    return Source.fromGraph(new HubSource(hub, filter, bufferSize, label, snapshot));
  }

  /** {@link #source(EventFilter, int)} with every event and {@code fulcrum.events.buffer-size}. */
  public Source<FulcrumEvent, NotUsed> source() {
    return source(EventFilter.ALL, settings.bufferSize()).mapMaterializedValue(subscribed -> NotUsed.getInstance());
  }

  /** The subscriptions of the moment with their counts. */
  public CompletionStage<EventHub.Subscribers> subscribers(Duration timeout) {
    return AskPattern.ask(hub, EventHub.GetSubscribers::new, timeout, system.scheduler());
  }
}
