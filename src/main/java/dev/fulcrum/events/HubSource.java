package dev.fulcrum.events;

import java.util.ArrayDeque;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.SourceShape;
import org.apache.pekko.stream.stage.AbstractGraphStageWithMaterializedValue;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.GraphStageLogic;
import scala.runtime.BoxedUnit;

/**
 * A subscription to the {@link EventHub} as a stream source: the stage's own actor is the subscriber. It acknowledges a
 * delivery once downstream has taken its last event, so downstream's demand paces the hub, and whatever downstream does
 * not take in time waits in the hub's bounded buffer for this subscriber (oldest dropped and counted). Materializes a
 * stage that completes once the subscription is in place: every event published after that reaches the stream.
 */
final class HubSource extends AbstractGraphStageWithMaterializedValue<SourceShape<FulcrumEvent>, CompletionStage<Done>> {
  private final Outlet<FulcrumEvent> out = Outlet.create("FulcrumEvents.out");
  private final SourceShape<FulcrumEvent> shape = SourceShape.of(out);
  private final ActorRef<EventHub.Command> hub;
  private final EventFilter filter;
  private final int bufferSize;
  private final String label;
  private final boolean snapshot;

  HubSource(ActorRef<EventHub.Command> hub, EventFilter filter, int bufferSize, String label, boolean snapshot) {
    this.snapshot = snapshot;
    this.hub = hub;
    this.filter = filter;
    this.bufferSize = bufferSize;
    this.label = label;
  }

  @Override
  public SourceShape<FulcrumEvent> shape() {
    return shape;
  }

  @Override
  public Pair<GraphStageLogic, CompletionStage<Done>> createLogicAndMaterializedValuePair(Attributes attributes) {
    CompletableFuture<Done> subscribed = new CompletableFuture<>();
    GraphStageLogic logic = new GraphStageLogic(shape) {
      private final ArrayDeque<FulcrumEvent> pending = new ArrayDeque<>();
      private EventHub.Delivery current;
      private ActorRef<EventHub.Delivery> self;

      {
        setHandler(out, new AbstractOutHandler() {
          @Override
          public void onPull() {
            pushNext();
          }
        });
      }

      @Override
      public void preStart() {
        StageActor actor = getStageActor(message -> {
          receive(message._2());
          return BoxedUnit.UNIT;
        });
        self = Adapter.toTyped(actor.ref());
        ActorRef<EventHub.Subscribed> confirm = Adapter.toTyped(actor.ref());
        hub.tell(new EventHub.Subscribe(self, filter, bufferSize, Optional.of(confirm), Optional.of(label), snapshot));
      }

      private void receive(Object message) {
        if (message instanceof EventHub.Subscribed) {
          subscribed.complete(Done.getInstance());
        } else if (message instanceof EventHub.Delivery delivery) {
          current = delivery;
          pending.addAll(delivery.events());
          pushNext();
        }
      }

      private void pushNext() {
        if (isAvailable(out) && !pending.isEmpty()) push(out, pending.poll());
        if (pending.isEmpty() && current != null) {
          current.ack();
          current = null;
        }
      }

      @Override
      public void postStop() {
        if (self != null) hub.tell(new EventHub.Unsubscribe(self));
        subscribed.completeExceptionally(new IllegalStateException("the event stream ended before its subscription began"));
      }
    };
    return Pair.create(logic, subscribed);
  }
}
