package dev.fulcrum.http.proxy;

import dev.fulcrum.config.BackendProtocol;
import dev.fulcrum.config.HttpRouteSettings.Upstream;
import dev.fulcrum.config.HttpRouteSettings;
import dev.fulcrum.firewall.Firewall;
import dev.fulcrum.http.wire.HeaderSink;
import dev.fulcrum.http.wire.HeaderView;
import dev.fulcrum.http.wire.RequestTarget;
import dev.fulcrum.routing.TableRef;
import java.net.InetAddress;

/** A route ready for the hot path: its settings with the firewall and header rules compiled and its pool's table. */
public final class Route implements Admission {
  private final HttpRouteSettings settings;
  private final Firewall firewall;
  private final HeaderRewriter.Rules requestRules;
  private final HeaderRewriter.Rules responseRules;
  private final TableRef table;
  private final UpstreamKey upstreamKey;
  /**
   * The key last asked for with a pool's TLS and protocol: one per pool definition, so cached rather than made per
   * request.
   */
  private volatile UpstreamKey lastKey;
  private final String pool;
  private final Key key;

  /**
   * What a route is counted under: its name and (for a split route, the drawn) pool. Equal across route table
   * versions, unlike the {@code Route} objects, which each change of the table replaces: meters cached by key stay
   * as many as the routes, however often the table changes.
   */
  public record Key(String name, String pool) {}

  /** {@code pool}: the route's pool, or the one of its split this variant serves. */
  Route(HttpRouteSettings settings, String pool, TableRef table) {
    this.settings = settings;
    this.pool = pool;
    this.key = new Key(settings.name(), pool);
    this.firewall = settings.firewall().isOpen() ? Firewall.OPEN : new Firewall(settings.firewall());
    this.requestRules = new HeaderRewriter.Rules(settings.requestHeaders());
    this.responseRules = new HeaderRewriter.Rules(settings.responseHeaders());
    this.table = table;
    // the pool's TLS comes with each backend of its routing table, its protocol with the table (see upstreamKey(..))
    this.upstreamKey = UpstreamKey.of(settings.upstream());
    this.lastKey = upstreamKey;
  }

  /** How metrics and the access log name the route: its name, by default its host and path prefix, e.g. {@code *\/api}. */
  public String name() {
    return settings.name();
  }

  public Key key() {
    return key;
  }

  /** The pool this request goes to (for a split route, the one picked for it). */
  public String pool() {
    return pool;
  }

  public HttpRouteSettings settings() {
    return settings;
  }

  public Upstream upstream() {
    return settings.upstream();
  }

  /**
   * Routes with equal keys share backend connections. Plain HTTP/1.1 connections; see {@link
   * #upstreamKey(RoutedBackend, BackendProtocol)}.
   */
  public UpstreamKey upstreamKey() {
    return upstreamKey;
  }

  /**
   * The protocol the pool's backends are spoken to in now. A request reads it once, before a backend is picked, and
   * keeps it (see {@link #upstreamKey(RoutedBackend, BackendProtocol)}).
   */
  public BackendProtocol protocol() {
    return table.current().protocol();
  }

  /** The key for an HTTP/1.1 connection to {@code backend}; see {@link #upstreamKey(RoutedBackend, BackendProtocol)}. */
  public UpstreamKey upstreamKey(dev.fulcrum.routing.RoutedBackend backend) {
    return upstreamKey(backend, BackendProtocol.HTTP_1_1);
  }

  /**
   * The key for a connection to {@code backend} speaking {@code protocol}, with the TLS its pool speaks to it as of
   * its table (the pool's TLS and protocol are part of its definition and may change at runtime: connections made
   * with other settings are not shared).
   */
  public UpstreamKey upstreamKey(dev.fulcrum.routing.RoutedBackend backend, BackendProtocol protocol) {
    dev.fulcrum.tls.BackendTls tls = backend.tls();
    if (tls == null && protocol.equals(BackendProtocol.HTTP_1_1)) return upstreamKey;
    UpstreamKey cached = lastKey;
    if (cached.tls() == tls && cached.protocol().equals(protocol)) return cached;
    cached = upstreamKey.with(tls, protocol);
    lastKey = cached;
    return cached;
  }

  TableRef table() {
    return table;
  }

  boolean permits(InetAddress client, String path) {
    return firewall.permits(client, path);
  }

  /** The sticky cookie's value in the request, or null (also when the route is not sticky). */
  String stickyToken(HeaderView headers) {
    return settings.sticky().enabled() ? StickyCookie.read(headers, settings.sticky().cookie()) : null;
  }

  /** The Set-Cookie value that pins a client to {@code backend}, unless it already is (or the route is not sticky). */
  String stickyCookie(dev.fulcrum.config.HostPort backend, String stickyToken) {
    if (!settings.sticky().enabled() || StickyCookie.token(backend).equals(stickyToken)) return null;
    return StickyCookie.setCookieValue(settings.sticky().cookie(), backend);
  }

  /** The request's headers for the backend: hop-by-hop ones dropped, forwarding ones added, the route's rules. */
  public void requestHeaders(HeaderView in, Forwarded forwarded, HeaderSink out) {
    HeaderRewriter.forRequest(in, forwarded, requestRules, out);
  }

  /** The response's headers for the client, likewise. */
  public void responseHeaders(HeaderView in, String requestId, HeaderSink out) {
    HeaderRewriter.forResponse(in, requestId, responseRules, out);
  }

  /** Whether the backend gets paths as the client spelled them (only those already in their normal form pass). */
  boolean forwardsOriginalPath() {
    return settings.forwardOriginalPath();
  }

  /**
   * The path the backend gets, encoded, without the query: the one routes and the firewall decided on (or, with
   * {@code forward-original-path}, as sent, which is then the same), the matched prefix replaced when the route says so.
   */
  public String backendPath(RequestTarget target) {
    String path = settings.forwardOriginalPath() ? target.rawPath() : target.forwardPath();
    if (settings.rewritePrefix().isEmpty()) return path;
    int matched = settings.pathPrefix().length() == 1 ? 0 : settings.pathPrefix().length();
    return absolute(target.withPrefixReplaced(matched, settings.rewritePrefix().get()));
  }

  private static String absolute(String path) {
    return path.startsWith("/") ? path : "/" + path;
  }
}
