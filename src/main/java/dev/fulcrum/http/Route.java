package dev.fulcrum.http;

import dev.fulcrum.config.HttpRouteSettings;
import dev.fulcrum.routing.RoutingTable;
import dev.fulcrum.routing.TableRef;
import java.net.InetAddress;
import java.util.Optional;
import java.util.function.Function;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpRequest;

/** A route ready for the hot path: its settings with the firewall compiled and the pool's table looked up once. */
final class Route {
  final HttpRouteSettings settings;
  final Firewall firewall;
  final HeaderRewriter.Rules requestRules;
  final HeaderRewriter.Rules responseRules;
  final TableRef table;
  final BackendClients.Key clientKey;
  private final boolean anyHost;
  private final boolean wildcard;
  private final String hostSuffix;

  Route(HttpRouteSettings settings, TableRef table) {
    this.settings = settings;
    this.firewall = settings.firewall().isOpen() ? Firewall.OPEN : new Firewall(settings.firewall());
    this.requestRules = new HeaderRewriter.Rules(settings.requestHeaders());
    this.responseRules = new HeaderRewriter.Rules(settings.responseHeaders());
    this.table = table;
    this.clientKey = BackendClients.Key.of(settings.upstream());
    this.anyHost = settings.host().equals("*");
    this.wildcard = settings.host().startsWith("*.");
    this.hostSuffix = wildcard ? settings.host().substring(1) : settings.host();
  }

  /**
   * The backend for a request: the one its sticky cookie names while that one is in the table, else the strategy's
   * choice; -1 when the table is empty.
   */
  int pick(RoutingTable current, String stickyToken, InetAddress client, HttpRequest request) {
    return pick(current, stickyToken, client,
        name -> request.getHeader(name).map(HttpHeader::value),
        name -> Optional.ofNullable(StickyCookie.read(request, name)),
        request.getUri().path());
  }

  /** As {@link #pick(RoutingTable, String, InetAddress, HttpRequest)}, for the nio engine's raw header fields. */
  int pick(RoutingTable current, String stickyToken, InetAddress client, HeaderFields headers, String path) {
    return pick(current, stickyToken, client,
        name -> Optional.ofNullable(headers.get(name)),
        name -> Optional.ofNullable(StickyCookie.read(headers, name)),
        path);
  }

  private static int pick(RoutingTable current, String stickyToken, InetAddress client,
      Function<String, Optional<String>> header, Function<String, Optional<String>> cookie, String path) {
    if (stickyToken != null) {
      int sticky = StickyCookie.find(current, stickyToken);
      if (sticky >= 0) return sticky;
    }
    return current.pick(current.requestKey(client, header, cookie, path));
  }

  /** The sticky cookie's value in the request, or null (also when the pool is not sticky). */
  String stickyToken(HttpRequest request) {
    return settings.sticky().enabled() ? StickyCookie.read(request, settings.sticky().cookie()) : null;
  }

  String stickyToken(HeaderFields headers) {
    return settings.sticky().enabled() ? StickyCookie.read(headers, settings.sticky().cookie()) : null;
  }

  /** Higher for more specific hosts: exact names, then longer wildcard suffixes, then any host. */
  int hostRank() {
    if (anyHost) return 0;
    return wildcard ? hostSuffix.length() : 100_000;
  }

  boolean matchesHost(String host) {
    if (anyHost) return true;
    if (wildcard) return host.length() > hostSuffix.length() && host.endsWith(hostSuffix);
    return host.equals(hostSuffix);
  }

  /** Whole-segment prefix match: "/api" takes "/api" and "/api/x", not "/apix". */
  boolean matchesPath(String path) {
    String prefix = settings.pathPrefix();
    if (prefix.length() == 1) return true;
    return path.startsWith(prefix) && (path.length() == prefix.length() || path.charAt(prefix.length()) == '/');
  }

  /** The path the backend sees: the matched prefix replaced when the route says so. */
  String rewrite(String path) {
    if (settings.rewritePrefix().isEmpty()) return path;
    String rest = settings.pathPrefix().length() == 1 ? path : path.substring(settings.pathPrefix().length());
    String rewritten = settings.rewritePrefix().get() + rest;
    return rewritten.startsWith("/") ? rewritten : "/" + rewritten;
  }
}
