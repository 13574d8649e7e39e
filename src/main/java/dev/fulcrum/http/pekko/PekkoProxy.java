package dev.fulcrum.http.pekko;

import dev.fulcrum.http.proxy.Admission;
import dev.fulcrum.http.proxy.ExchangeLog;
import dev.fulcrum.http.proxy.HeaderRewriter;
import dev.fulcrum.http.proxy.ListenerPolicy;
import dev.fulcrum.http.proxy.ProxyError;
import dev.fulcrum.http.proxy.Route;
import dev.fulcrum.http.wire.ParsedTarget;
import dev.fulcrum.http.wire.RequestTarget;
import dev.fulcrum.http.wire.WireError;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.RemoteAddress;
import org.apache.pekko.http.javadsl.model.ws.WebSocketUpgrade;
import org.apache.pekko.japi.function.Function;

/**
 * The request handler of one HTTP listener on Pekko HTTP: the listener's policy admits the request, then an
 * {@link PekkoExchange} (or the WebSocket proxy) takes it to a backend. Nothing here blocks or asks an actor.
 */
final class PekkoProxy implements Function<HttpRequest, CompletionStage<HttpResponse>> {
  /** Stands in for a missing remote address (never expected): 0.0.0.0 is in no allow list a user would write. */
  private static final InetAddress UNKNOWN = unknownAddress();

  private final ProxyContext context;
  private final WebSocketProxy webSockets;

  PekkoProxy(ProxyContext context, WebSocketProxy webSockets) {
    this.context = context;
    this.webSockets = webSockets;
  }

  @Override
  public CompletionStage<HttpResponse> apply(HttpRequest request) {
    PekkoHeaders headers = new PekkoHeaders(request.getHeaders());
    String requestId = HeaderRewriter.requestId(headers);
    InetAddress client = clientAddress(request);
    ExchangeLog log = new ExchangeLog(context.observer());
    log.protocol = protocol(request);
    long now = System.nanoTime();
    log.begin(now, now, client.getHostAddress(), clientPort(request), 0);
    log.request(request.method().value(), headers.rawTarget(), requestId);
    // the target as the client sent it (Pekko's model has decoded it already): the listener's policy normalizes it
    ParsedTarget parsed = context.policy().parseTarget(headers.rawTarget());
    if (parsed instanceof WireError error) return done(ProxyError.of(error), requestId, log);
    RequestTarget target = (RequestTarget) parsed;
    String host = headers.get("host");
    long length = request.entity().getContentLengthOption().orElse(-1);
    Admission admission = context.policy().admit(client, host, target, headers, length);
    if (admission instanceof ProxyError error) {
      if (error.status() != 404) log.routed(context.policy().refusedRoute(host, target, headers));
      return done(error, requestId, log);
    }
    Route route = (Route) admission;
    log.routed(route);
    Optional<WebSocketUpgrade> upgrade = request.getAttribute(AttributeKeys.webSocketUpgrade);
    if (upgrade.isPresent()) return webSockets.proxy(request, headers, upgrade.get(), route, client, host, requestId, target, log);
    PekkoExchange exchange = new PekkoExchange(context, route, request, headers, client, host, requestId, target, log);
    return exchange.start(request.getAttribute(PekkoConnection.KEY).orElse(null));
  }

  private static CompletionStage<HttpResponse> done(ProxyError error, String requestId, ExchangeLog log) {
    log.answered(error.status(), error.body().length, System.nanoTime());
    return CompletableFuture.completedFuture(Responses.of(error, requestId));
  }

  private static InetAddress unknownAddress() {
    try {
      return InetAddress.getByAddress(new byte[4]);
    } catch (UnknownHostException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The client's protocol as the access log names it (Pekko calls HTTP/2 "HTTP/2.0"). */
  private static String protocol(HttpRequest request) {
    String p = request.protocol().value();
    if (p.equals("HTTP/1.0")) return ExchangeLog.HTTP_1_0;
    return p.startsWith("HTTP/2") ? ExchangeLog.HTTP_2 : ExchangeLog.HTTP_1_1;
  }

  private static int clientPort(HttpRequest request) {
    return request.getAttribute(AttributeKeys.remoteAddress).map(RemoteAddress::getPort).orElse(0);
  }

  private static InetAddress clientAddress(HttpRequest request) {
    Optional<RemoteAddress> remote = request.getAttribute(AttributeKeys.remoteAddress);
    return remote.flatMap(RemoteAddress::getAddress).orElse(UNKNOWN);
  }
}
