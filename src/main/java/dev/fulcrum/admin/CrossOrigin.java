package dev.fulcrum.admin;

import java.net.URI;
import java.util.Locale;
import java.util.Optional;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;

/**
 * Refuses changes a browser sends on behalf of another site (CSRF). Without a token the admin API takes changes from
 * anyone who reaches it, and a page on any site can make a visitor's browser POST a {@code text/plain} body to
 * 127.0.0.1:8081 without asking first (a "simple" request): an added backend would take the pool's traffic. Browsers
 * name the page's origin on every such request, so a change whose {@code Origin} is not the admin API's own (the stats
 * page's) is refused; clients that are not browsers (curl, programs) send no Origin and are not affected.
 */
final class CrossOrigin {
  private CrossOrigin() {}

  /** A 403 for a change from another origin; empty for reads and for requests from the API's own origin or none. */
  static Optional<HttpResponse> refusal(HttpRequest request) {
    if (request.method() == HttpMethods.GET || request.method() == HttpMethods.HEAD
        || request.method() == HttpMethods.OPTIONS) {
      return Optional.empty();
    }
    Optional<String> origin = request.getHeader("Origin").map(h -> h.value().trim());
    if (origin.isEmpty()) return Optional.empty();
    Optional<String> host = request.getHeader("Host").map(h -> h.value().trim().toLowerCase(Locale.ROOT));
    if (host.isPresent() && host.get().equals(authority(origin.get()))) return Optional.empty();
    String message = "a change from the web page of another origin is refused (Origin: " + origin.get()
        + "; this API is " + host.orElse("unnamed") + "): use the stats page on this port, or a client that is not a browser";
    String body = Json.write(Json.object().put("error", message));
    return Optional.of(HttpResponse.create().withStatus(StatusCodes.FORBIDDEN).withEntity(ContentTypes.APPLICATION_JSON, body));
  }

  /** The host[:port] of an origin, as a Host header names it (the default port left out); "" for none ("null"). */
  private static String authority(String origin) {
    try {
      URI uri = new URI(origin);
      if (uri.getHost() == null) return "";
      String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
      int port = uri.getPort();
      boolean defaultPort = port == -1 || (scheme.equals("http") && port == 80) || (scheme.equals("https") && port == 443);
      String host = uri.getHost().toLowerCase(Locale.ROOT);
      return defaultPort ? host : host + ":" + port;
    } catch (java.net.URISyntaxException e) {
      return "";
    }
  }
}
