package dev.fulcrum.http;

import dev.fulcrum.config.HttpListenerSettings;
import java.net.InetAddress;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.RemoteAddress;
import org.apache.pekko.http.javadsl.model.ws.WebSocketUpgrade;
import org.apache.pekko.japi.function.Function;

/**
 * The request handler of one HTTP listener: route, firewall, limits, then hand the request to an {@link Exchange} (or
 * the WebSocket proxy) that picks backends from the pool's current table. Nothing here blocks or asks an actor.
 */
final class HttpProxy implements Function<HttpRequest, CompletionStage<HttpResponse>> {
  /** Stands in for a missing remote address (never expected): 0.0.0.0 is in no allow list a user would write. */
  private static final InetAddress UNKNOWN = unknownAddress();

  private final HttpListenerSettings settings;
  private final Routes routes;
  private final Firewall firewall;
  private final ProxyContext context;
  private final WebSocketProxy webSockets;

  HttpProxy(HttpListenerSettings settings, Routes routes, ProxyContext context, WebSocketProxy webSockets) {
    this.settings = settings;
    this.routes = routes;
    this.firewall = new Firewall(settings.firewall());
    this.context = context;
    this.webSockets = webSockets;
  }

  @Override
  public CompletionStage<HttpResponse> apply(HttpRequest request) {
    String requestId = HeaderRewriter.requestId(request);
    String path = request.getUri().path();
    String host = hostHeader(request);
    Route route = routes.match(host == null ? "" : host, path);
    if (route == null) return done(Responses.of(ProxyError.noRoute(), requestId));
    InetAddress client = clientAddress(request);
    if (!firewall.permits(client, path) || !route.firewall.permits(client, path)) {
      return done(Responses.of(ProxyError.forbidden(), requestId));
    }
    OptionalLong length = request.entity().getContentLengthOption();
    if (length.isPresent() && length.getAsLong() > settings.limits().maxBodySize()) {
      return done(Responses.of(ProxyError.tooLarge(settings.limits().maxBodySize()), requestId));
    }
    Optional<WebSocketUpgrade> upgrade = request.getAttribute(AttributeKeys.webSocketUpgrade);
    if (upgrade.isPresent()) return webSockets.proxy(request, upgrade.get(), route, client, host, requestId, path);
    return new Exchange(context, route, request, client, host, requestId, path).start();
  }

  private static InetAddress unknownAddress() {
    try {
      return InetAddress.getByAddress(new byte[4]);
    } catch (java.net.UnknownHostException e) {
      throw new IllegalStateException(e);
    }
  }

  private static InetAddress clientAddress(HttpRequest request) {
    Optional<RemoteAddress> remote = request.getAttribute(AttributeKeys.remoteAddress);
    return remote.flatMap(RemoteAddress::getAddress).orElse(UNKNOWN);
  }

  private static String hostHeader(HttpRequest request) {
    for (HttpHeader h : request.getHeaders()) {
      if (h.is("host")) return h.value();
    }
    return null;
  }

  private static CompletionStage<HttpResponse> done(HttpResponse response) {
    return CompletableFuture.completedFuture(response);
  }
}
