package dev.fulcrum.http.pekko;

import dev.fulcrum.http.proxy.BackendFailure;
import dev.fulcrum.http.proxy.BackendSelection;
import dev.fulcrum.http.proxy.ExchangeLog;
import dev.fulcrum.http.proxy.ProxyError;
import dev.fulcrum.http.proxy.Route;
import dev.fulcrum.http.wire.RequestTarget;
import dev.fulcrum.routing.RoutedBackend;
import java.net.InetAddress;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import com.typesafe.config.ConfigFactory;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLongArray;
import org.apache.pekko.NotUsed;
import org.apache.pekko.event.Logging;
import org.apache.pekko.event.LoggingAdapter;
import org.apache.pekko.http.javadsl.ConnectionContext;
import org.apache.pekko.http.javadsl.settings.ClientConnectionSettings;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.WebSocketRequest;
import org.apache.pekko.http.javadsl.model.ws.WebSocketUpgrade;
import org.apache.pekko.http.javadsl.model.ws.WebSocketUpgradeResponse;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.javadsl.AsPublisher;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.reactivestreams.Publisher;
import org.reactivestreams.Subscriber;

/**
 * Proxies a WebSocket upgrade: opens a WebSocket to the backend first and only accepts the client's upgrade once the
 * backend accepted, then joins both message streams for the life of the socket (either side closing closes both).
 */
final class WebSocketProxy {
  private final ProxyContext context;
  private final LoggingAdapter log;
  /** By connect timeout: a value, so route table changes (which replace the Route objects) add no entries. */
  private final ConcurrentHashMap<java.time.Duration, ClientConnectionSettings> settings = new ConcurrentHashMap<>();

  WebSocketProxy(ProxyContext context) {
    this.context = context;
    this.log = Logging.getLogger(context.system().classicSystem(), WebSocketProxy.class);
  }

  CompletionStage<HttpResponse> proxy(
      HttpRequest request, PekkoHeaders headers, WebSocketUpgrade upgrade, Route route, InetAddress client, String host,
      String requestId, RequestTarget target, ExchangeLog record) {
    BackendSelection selection = context.policy().select(route, client, headers, target.path(), false);
    if (selection == null) {
      ProxyError none = ProxyError.noBackend(route.pool());
      record.answered(none.status(), none.body().length, System.nanoTime());
      return CompletableFuture.completedFuture(Responses.of(none, requestId));
    }
    RoutedBackend backend = selection.first();
    record.attempt(backend, System.nanoTime());
    WebSocketRequest wsRequest = WebSocketRequest.create(backendUri(route, backend, target));
    PekkoHeaders rewritten = new PekkoHeaders(request.getHeaders());
    route.requestHeaders(rewritten, context.forwarded(request, client, host, requestId), rewritten);
    for (HttpHeader h : rewritten.result()) {
      String name = h.lowercaseName();
      if (!name.equals("host") && !name.startsWith("sec-websocket-")) wsRequest = wsRequest.addHeader(h);
    }
    List<String> protocols = new java.util.ArrayList<>();
    upgrade.getRequestedProtocols().forEach(protocols::add);
    if (!protocols.isEmpty()) wsRequest = wsRequest.requestSubprotocol(String.join(", ", protocols));

    Flow<Message, Message, Pair<Publisher<Message>, Subscriber<Message>>> backendSide =
        Flow.fromSinkAndSourceMat(
            Sink.<Message>asPublisher(AsPublisher.WITHOUT_FANOUT), Source.<Message>asSubscriber(), Keep.both());
    Pair<CompletionStage<WebSocketUpgradeResponse>, Pair<Publisher<Message>, Subscriber<Message>>> connected =
        Http.get(context.system()).singleWebSocketRequest(
            wsRequest, backendSide, ConnectionContext.noEncryption(), Optional.empty(), clientSettings(route), log,
            context.materializer());
    Publisher<Message> fromBackend = connected.second().first();
    Subscriber<Message> toBackend = connected.second().second();
    return connected.first().handle((response, failure) -> {
      if (failure != null || !response.isValid()) {
        Source.<Message>empty().runWith(Sink.fromSubscriber(toBackend), context.materializer());
        Source.fromPublisher(fromBackend).runWith(Sink.cancelled(), context.materializer());
        BackendFailure why = failure == null ? null : PekkoFailures.of(failure);
        if (why != null && why.connectFailed()) backend.reportConnectFailure(why.reason());
        if (why != null) {
          record.attemptFailed(why);
          record.gaveUp(why);
        } else {
          record.mark(ExchangeLog.Termination.BACKEND_RESET);
        }
        ProxyError refused = new ProxyError(502, "bad gateway: the backend refused the WebSocket upgrade");
        record.answered(refused.status(), refused.body().length, System.nanoTime());
        return Responses.of(refused, requestId);
      }
      long now = System.nanoTime();
      record.connected(now);
      record.responseHead(101, now);
      // one access-log line when the socket closes, with the bytes of the messages each way
      AtomicLongArray bytes = new AtomicLongArray(2);
      Flow<Message, Message, NotUsed> clientSide =
          Flow.fromSinkAndSourceCoupled(
                  Flow.<Message>create().map(m -> count(bytes, 0, m)).to(Sink.fromSubscriber(toBackend)),
                  Source.fromPublisher(fromBackend).map(m -> count(bytes, 1, m)))
              .watchTermination((unused, done) -> {
                done.whenComplete((d, closedBy) -> {
                  record.end(closedBy == null ? ExchangeLog.Termination.NORMAL : ExchangeLog.Termination.CLIENT_ABORT,
                      bytes.get(0), bytes.get(1), System.nanoTime());
                });
                return NotUsed.getInstance();
              });
      HttpResponse accepted = response.chosenSubprotocol()
          .map(protocol -> upgrade.handleMessagesWith(clientSide, protocol))
          .orElseGet(() -> upgrade.handleMessagesWith(clientSide));
      String cookie = selection.stickyCookie();
      return cookie == null ? accepted : accepted.addHeader(RawHeader.create("Set-Cookie", cookie));
    });
  }

  /** Adds a whole message's size to the count of its direction (a streamed message's parts are not counted). */
  private static Message count(AtomicLongArray bytes, int direction, Message message) {
    if (message.isText()) {
      var text = message.asTextMessage();
      if (text.isStrict()) bytes.addAndGet(direction, text.getStrictText().length());
    } else {
      var binary = message.asBinaryMessage();
      if (binary.isStrict()) bytes.addAndGet(direction, binary.getStrictData().size());
    }
    return message;
  }

  /** The route's connect timeout; the socket's idle time is bounded by the listener's client idle timeout. */
  private ClientConnectionSettings clientSettings(Route route) {
    return settings.computeIfAbsent(route.upstream().connectTimeout(), timeout -> ClientConnectionSettings.create(ConfigFactory.parseString(
            "pekko.http.client.connecting-timeout = " + timeout.toMillis() + "ms\n"
                + "pekko.http.client.idle-timeout = infinite\n")
        .withFallback(context.system().settings().config())));
  }

  private static String backendUri(Route route, RoutedBackend backend, RequestTarget target) {
    return "ws://" + backend.address() + route.backendPath(target) + target.query();
  }
}
