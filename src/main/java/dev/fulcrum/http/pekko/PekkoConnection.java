package dev.fulcrum.http.pekko;

import dev.fulcrum.http.proxy.ListenerObserver;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.model.AttributeKey;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.japi.function.Function;
import org.apache.pekko.stream.javadsl.Flow;

/**
 * One client connection of a Pekko HTTP listener. Pekko HTTP hands a request handler neither the connection's opening
 * nor its end, so the listener binds a flow per connection ({@link #flow}) that counts it open and closed and, when
 * the client goes away while requests wait for their backends, tells those exchanges (the access log's client-abort
 * before the response head, as the nio engine writes it).
 */
final class PekkoConnection {
  static final AttributeKey<PekkoConnection> KEY = AttributeKey.create("fulcrum-connection", PekkoConnection.class);

  private final Set<PekkoExchange> waiting = ConcurrentHashMap.newKeySet();
  private volatile boolean closed;

  /**
   * The handler flow of one connection: requests in the order they came, {@code pipelining} at a time (as Pekko's own
   * {@code bind(handler)} runs them), each carrying its connection as an attribute.
   */
  static Flow<HttpRequest, HttpResponse, NotUsed> flow(
      Function<HttpRequest, CompletionStage<HttpResponse>> handler, int pipelining, ListenerObserver observer) {
    return Flow.fromMaterializer((materializer, attributes) -> {
      PekkoConnection connection = new PekkoConnection();
      observer.connectionOpened();
      return Flow.of(HttpRequest.class)
          .mapAsync(pipelining, request -> handler.apply(request.addAttribute(KEY, connection)))
          // a client that leaves cancels the responses' side at once; one that only stops sending ends the
          // requests' side once the answers in flight are out
          .watchTermination((notUsed, done) -> {
            done.whenComplete((d, failure) -> {
              connection.closed();
              observer.connectionClosed();
            });
            return NotUsed.getInstance();
          });
    }).mapMaterializedValue(future -> NotUsed.getInstance());
  }

  /** An exchange waits for its backend's response head on this connection. */
  void waiting(PekkoExchange exchange) {
    waiting.add(exchange);
    if (closed) exchange.clientGone();
  }

  /** The exchange has its response head (or its answer): a client that leaves from now on cuts the body. */
  void answered(PekkoExchange exchange) {
    waiting.remove(exchange);
  }

  private void closed() {
    closed = true;
    for (PekkoExchange exchange : waiting) exchange.clientGone();
    waiting.clear();
  }
}
