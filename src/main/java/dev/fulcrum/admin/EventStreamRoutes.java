package dev.fulcrum.admin;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fulcrum.Failures;
import dev.fulcrum.events.EventFilter;
import dev.fulcrum.events.FulcrumEvent;
import dev.fulcrum.events.FulcrumEvents;
import dev.fulcrum.pool.PoolControl;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.model.sse.ServerSentEvent;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code GET /api/events}: the node's events as Server-Sent Events, open like the other reads. Journaled events (pool
 * changes) carry {@code id:} = their journal offset; a client that reconnects with {@code Last-Event-ID} first gets
 * the journaled events after that id from the journal, then the live ones, with none missing and none twice (a live
 * event already replayed is skipped by its offset). A comment line goes out every {@code fulcrum.events.heartbeat}
 * so proxies keep the stream open. {@code ?kinds=pool-changed,backend-health&pools=web} filters; {@code ?snapshot=true}
 * starts with the node's current state (pools' versions, backends' health, route tables' versions, then a
 * {@code snapshot-end} event), before the live events; any other query parameter is a 400 naming it. And
 * {@code GET /api/events/subscribers}: the node's subscriptions with their buffers and drops.
 */
final class EventStreamRoutes {
  private static final Logger log = LoggerFactory.getLogger(EventStreamRoutes.class);
  /** The first bytes of a stream: the subscription is in place (and a resume's replay is under way). */
  static final ByteString SUBSCRIBED = ByteString.fromString(": subscribed\n\n");
  static final ByteString HEARTBEAT = ByteString.fromString(": heartbeat\n\n");

  private final ActorSystem<?> system;
  private final PoolControl pools;
  private final Materializer materializer;
  private final Duration timeout;
  /** Ends every open stream normally when the admin API stops, before the streams' machinery goes. */
  private final org.apache.pekko.stream.SharedKillSwitch open = org.apache.pekko.stream.KillSwitches.shared("admin-event-streams");

  EventStreamRoutes(ActorSystem<?> system, PoolControl pools, Materializer materializer, Duration timeout) {
    this.system = system;
    this.pools = pools;
    this.materializer = materializer;
    this.timeout = timeout;
  }

  /** The response when the call is one of these, else null. */
  CompletionStage<HttpResponse> handle(HttpRequest request) {
    String path = request.getUri().path();
    if (!path.equals("/api/events") && !path.equals("/api/events/subscribers")) return null;
    request.discardEntityBytes(system);
    if (request.method() != HttpMethods.GET) {
      return done(HttpResponse.create()
          .withStatus(StatusCodes.METHOD_NOT_ALLOWED)
          .addHeader(RawHeader.create("Allow", "GET"))
          .withEntity(ContentTypes.APPLICATION_JSON, "{\"error\":\"only GET is allowed here\"}"));
    }
    try {
      ApiCalls.onlyParameters(request, path.equals("/api/events") ? new String[] {"kinds", "pools", "snapshot"} : new String[0]);
    } catch (ApiError e) {
      return done(ApiCalls.error(e));
    }
    if (path.equals("/api/events/subscribers")) return subscribers();
    EventFilter.Parsed filter = EventFilter.parse(request.getUri().query().get("kinds"), request.getUri().query().get("pools"));
    if (filter.problem() != null) return done(badRequest(filter.problem()));
    Optional<String> snapshotParam = request.getUri().query().get("snapshot");
    if (snapshotParam.isPresent() && !snapshotParam.get().equals("true") && !snapshotParam.get().equals("false")) {
      return done(badRequest("query parameter 'snapshot': must be true or false, got '" + snapshotParam.get() + "'"));
    }
    boolean snapshot = snapshotParam.map("true"::equals).orElse(false);
    Optional<String> lastId = request.getHeader("Last-Event-ID").map(h -> h.value().trim()).filter(v -> !v.isEmpty());
    long after = -1;
    if (lastId.isPresent()) {
      try {
        after = Long.parseLong(lastId.get());
      } catch (NumberFormatException e) {
        after = -1;
      }
      if (after < 0) {
        return done(badRequest("header 'Last-Event-ID' must be an id this API sent (a journal offset, an integer >= 0), got '"
            + lastId.get() + "'"));
      }
    }
    return done(HttpResponse.create()
        .addHeader(RawHeader.create("Cache-Control", "no-cache"))
        // nginx buffers responses unless told not to
        .addHeader(RawHeader.create("X-Accel-Buffering", "no"))
        .withEntity(HttpEntities.createChunked(MediaTypes.TEXT_EVENT_STREAM.toContentType(),
            stream(filter.filter(), after, snapshot, "GET " + request.getUri().toRelative() + " from " + client(request)))));
  }

  /**
   * Subscribes first, then (on a resume) reads the journal: an event written meanwhile is then both in the replay and
   * in the subscription's buffer, never in neither, and its second copy is dropped by offset.
   */
  private Source<ByteString, NotUsed> stream(EventFilter filter, long after, boolean snapshot, String label) {
    FulcrumEvents events = FulcrumEvents.get(system);
    Pair<CompletionStage<Done>, Source<FulcrumEvent, NotUsed>> live =
        events.source(filter, events.settings().bufferSize(), label, snapshot).preMaterialize(materializer);
    // elements: FulcrumEvent, or bytes ready to send
    Source<Object, NotUsed> started = Source.completionStage(live.first().<Object>thenApply(d -> SUBSCRIBED))
        .mapMaterializedValue(m -> NotUsed.getInstance());
    Source<Object, NotUsed> replay = after < 0
        ? Source.empty()
        : Source.completionStageSource(live.first().thenApply(subscribed -> replay(filter, after)))
            .mapMaterializedValue(m -> NotUsed.getInstance());
    return started.concat(replay).concat(live.second().map(e -> (Object) e))
        .statefulMapConcat(() -> {
          long[] highest = {Math.max(after, 0)};
          return element -> {
            if (element instanceof Seen seen) {
              highest[0] = seen.offset();
              return List.of();
            }
            if (!(element instanceof FulcrumEvent event)) return List.of((ByteString) element);
            if (event.offset() > 0) {
              if (event.offset() <= highest[0]) return List.of();
              highest[0] = event.offset();
            }
            return List.of(encode(event));
          };
        })
        .keepAlive(events.settings().heartbeat(), () -> HEARTBEAT)
        .via(open.flow());
  }

  /** Completes every open event stream: the node is stopping. */
  void closeStreams() {
    open.shutdown();
  }

  /**
   * The offset the client has seen, for the stream to drop live events at or below it (another node's change this
   * node publishes after the replay had it).
   */
  private record Seen(long offset) {}

  private static final Object REPLAY_END = new Object();

  /**
   * The journaled events after {@code after}, read from {@code after} itself: a journal with no event at or past it
   * never sent that id (it was reset, or the id is another cluster's). Then the client hears so, and the live events
   * are not held back to pass an offset the journal has not reached: they were dropped as seen until it did.
   */
  private Source<Object, NotUsed> replay(EventFilter filter, long after) {
    Source<FulcrumEvent, NotUsed> journaled;
    try {
      journaled = pools.journaledAfter(Math.max(after - 1, 0));
    } catch (IllegalStateException notAMember) {
      return Source.single(resumeFailed(notAMember.getMessage()));
    }
    return journaled.<Object>map(e -> e).concat(Source.single(REPLAY_END))
        .statefulMapConcat(() -> {
          boolean[] reached = {after == 0};
          return element -> {
            if (element == REPLAY_END) {
              return reached[0] ? List.of() : List.of(resumeFailed("the journal has no event " + after
                  + " (it was reset, or the id is not this cluster's)"), new Seen(0));
            }
            FulcrumEvent event = (FulcrumEvent) element;
            reached[0] = true;
            return event.offset() > after && filter.matches(event) ? List.of(event) : List.of();
          };
        })
        .recover(Throwable.class, () -> resumeFailed("the journal cannot be read now"));
  }

  private static String client(HttpRequest request) {
    return request.getAttribute(org.apache.pekko.http.javadsl.model.AttributeKeys.remoteAddress)
        .flatMap(a -> a.getAddress().map(ip -> ip.getHostAddress() + ":" + a.getPort()))
        .orElse("unknown");
  }

  private static Object resumeFailed(String why) {
    log.info("an event stream could not resume from the journal: {}", why);
    return sse(Json.write(Json.object().put("error", "cannot replay the events after Last-Event-ID: " + why
        + "; re-read the state (GET /api/pools), live events follow")), "resume-failed", null);
  }

  /** The event as one SSE message: its kind as the event type, its offset as the id when it is journaled. */
  static ByteString encode(FulcrumEvent event) {
    ObjectNode data = Json.MAPPER.valueToTree(event);
    data.put("kind", event.kind().label());
    return sse(Json.write(data), event.kind().label(), event.offset() > 0 ? Long.toString(event.offset()) : null);
  }

  private static ByteString sse(String data, String type, String id) {
    ServerSentEvent event = ServerSentEvent.create(data, Optional.of(type), Optional.ofNullable(id), java.util.OptionalInt.empty());
    return ((org.apache.pekko.http.scaladsl.model.sse.ServerSentEvent) event).encode();
  }

  private CompletionStage<HttpResponse> subscribers() {
    return FulcrumEvents.get(system).subscribers(timeout).thenApply(list -> {
      ObjectNode body = Json.object().put("droppedTotal", list.droppedTotal());
      ArrayNode array = body.putArray("subscribers");
      list.subscribers().forEach(s -> array.add(Json.MAPPER.valueToTree(s)));
      return HttpResponse.create().withEntity(ContentTypes.APPLICATION_JSON, Json.write(body));
    }).exceptionally(failure -> HttpResponse.create().withStatus(StatusCodes.SERVICE_UNAVAILABLE)
        .withEntity(ContentTypes.APPLICATION_JSON, Json.write(Json.object().put("error",
            "this node did not answer within the timeout (" + Failures.describe(failure) + "); try again"))));
  }

  private static HttpResponse badRequest(String message) {
    return HttpResponse.create().withStatus(StatusCodes.BAD_REQUEST)
        .withEntity(ContentTypes.APPLICATION_JSON, Json.write(Json.object().put("error", message)));
  }

  private static CompletionStage<HttpResponse> done(HttpResponse response) {
    return CompletableFuture.completedFuture(response);
  }
}
