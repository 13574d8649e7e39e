package dev.fulcrum.http.proxy;

import dev.fulcrum.config.HttpRouteSettings;
import dev.fulcrum.http.wire.HeaderView;
import dev.fulcrum.routing.RoutingTables;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A listener's route table compiled for the hot path, indexed rather than scanned, so that a lookup costs the length of
 * the host and path, not the number of routes, and allocates nothing. The most specific host wins (exact, then the
 * longest {@code *.suffix}, then any); within it the longest whole-segment path prefix whose routes take the request;
 * among routes for the same host and prefix, the first in table order whose condition (header, cookie) holds. A route
 * split between pools picks one per request by weight. Immutable: a changed table is a new {@code Routes}.
 */
public final class Routes {
  private final List<HttpRouteSettings> settings;
  private final RegionIndex<HostGroup> exact;
  private final RegionIndex<HostGroup> wildcard;
  private final HostGroup any;

  public Routes(List<HttpRouteSettings> settings, RoutingTables tables) {
    this.settings = List.copyOf(settings);
    Map<String, Map<String, List<Candidate>>> byHost = new LinkedHashMap<>();
    for (HttpRouteSettings s : settings) {
      byHost.computeIfAbsent(s.host(), h -> new LinkedHashMap<>())
          .computeIfAbsent(s.pathPrefix(), p -> new ArrayList<>())
          .add(new Candidate(s, tables));
    }
    int exactHosts = (int) byHost.keySet().stream().filter(h -> !h.startsWith("*")).count();
    this.exact = new RegionIndex<>(exactHosts, true);
    this.wildcard = new RegionIndex<>(byHost.size() - exactHosts, true);
    HostGroup anyHost = null;
    for (Map.Entry<String, Map<String, List<Candidate>>> e : byHost.entrySet()) {
      HostGroup group = new HostGroup(e.getValue());
      String host = e.getKey();
      if (host.equals("*")) anyHost = group;
      else if (host.startsWith("*.")) wildcard.put(host.substring(1), group);
      else exact.put(host, group);
    }
    this.any = anyHost;
  }

  /** The routes as defined, in table order. */
  public List<HttpRouteSettings> settings() {
    return settings;
  }

  /**
   * The route for this Host header value (may carry a port; "" without one), decoded path and headers; null when
   * none takes the request.
   */
  public Route match(String hostHeader, String path, HeaderView headers) {
    int end = hostHeader.length();
    if (end > 0 && hostHeader.charAt(0) != '[') {
      int colon = hostHeader.lastIndexOf(':');
      if (colon >= 0) end = colon;
    }
    if (end > 0 && hostHeader.charAt(end - 1) == '.') end--;
    // a host whose length no pattern has is not hashed, nor looked up
    if (exact.mayHaveLength(end)) {
      HostGroup group = exact.get(hostHeader, 0, end, RegionIndex.hash(hostHeader, 0, end, true));
      Route route = group == null ? null : group.match(path, headers);
      if (route != null) return route;
    }
    if (!wildcard.isEmpty()) {
      // the leftmost dot gives the longest suffix: the most specific wildcard first
      for (int dot = hostHeader.indexOf('.', 1); dot > 0 && dot < end; dot = hostHeader.indexOf('.', dot + 1)) {
        if (!wildcard.mayHaveLength(end - dot)) continue;
        HostGroup group = wildcard.get(hostHeader, dot, end, RegionIndex.hash(hostHeader, dot, end, true));
        Route route = group == null ? null : group.match(path, headers);
        if (route != null) return route;
      }
    }
    return any == null ? null : any.match(path, headers);
  }

  /** The routes of one host pattern, by path prefix. */
  private static final class HostGroup {
    private final Candidate[] root;
    private final RegionIndex<Candidate[]> prefixes;

    HostGroup(Map<String, List<Candidate>> byPrefix) {
      List<Candidate> top = byPrefix.get("/");
      this.root = top == null ? null : top.toArray(Candidate[]::new);
      this.prefixes = new RegionIndex<>(byPrefix.size(), false);
      byPrefix.forEach((prefix, candidates) -> {
        if (!prefix.equals("/")) prefixes.put(prefix, candidates.toArray(Candidate[]::new));
      });
    }

    /**
     * One pass over the path, up to the longest prefix: at each segment end as long as a prefix, the prefix so far; the
     * longest that takes the request wins, the root's routes when none does.
     */
    Route match(String path, HeaderView headers) {
      Route best = null;
      if (!prefixes.isEmpty()) {
        int n = Math.min(path.length(), prefixes.longest());
        int h = 0;
        for (int i = 0; i < n; i++) {
          h = 31 * h + path.charAt(i);
          int length = i + 1;
          if (i > 0 && (length == path.length() || path.charAt(length) == '/') && prefixes.mayHaveLength(length)) {
            Candidate[] candidates = prefixes.get(path, 0, length, h);
            if (candidates != null) {
              Route route = first(candidates, headers);
              if (route != null) best = route;
            }
          }
        }
      }
      return best != null || root == null ? best : first(root, headers);
    }

    private static Route first(Candidate[] candidates, HeaderView headers) {
      for (Candidate c : candidates) {
        if (c.takes(headers)) return c.pick();
      }
      return null;
    }
  }

  /** One route of the table: its condition, and its pools' compiled routes with their cumulative weights. */
  private static final class Candidate {
    private final String header;
    private final String headerValue;
    private final String cookie;
    private final String cookieValue;
    private final Route[] variants;
    private final int[] upTo;

    Candidate(HttpRouteSettings s, RoutingTables tables) {
      this.header = s.match().header().map(HttpRouteSettings.Header::name).orElse(null);
      this.headerValue = s.match().header().map(HttpRouteSettings.Header::value).orElse("");
      this.cookie = s.match().cookie().map(HttpRouteSettings.Header::name).orElse(null);
      this.cookieValue = s.match().cookie().map(HttpRouteSettings.Header::value).orElse("");
      this.variants = new Route[s.pools().size()];
      this.upTo = new int[variants.length];
      int sum = 0;
      for (int i = 0; i < variants.length; i++) {
        String pool = s.pools().get(i).pool();
        variants[i] = new Route(s, pool, tables.of(pool));
        sum += s.splits() ? s.pools().get(i).weight() : 100;
        upTo[i] = sum;
      }
    }

    boolean takes(HeaderView headers) {
      if (header != null) {
        String value = headers.get(header);
        if (value == null || (!headerValue.isEmpty() && !value.equals(headerValue))) return false;
      }
      return cookie == null || hasCookie(headers, cookie, cookieValue);
    }

    Route pick() {
      if (variants.length == 1) return variants[0];
      int r = ThreadLocalRandom.current().nextInt(upTo[upTo.length - 1]);
      for (int i = 0; i < upTo.length; i++) if (r < upTo[i]) return variants[i];
      return variants[variants.length - 1];
    }
  }

  /** Whether a Cookie header has the cookie (with this value, unless {@code value} is empty), without splitting it. */
  static boolean hasCookie(HeaderView headers, String name, String value) {
    for (int i = 0; i < headers.size(); i++) {
      if (!headers.name(i).equalsIgnoreCase("cookie")) continue;
      String v = headers.value(i);
      int at = 0;
      int n = v.length();
      while (at < n) {
        int end = v.indexOf(';', at);
        if (end < 0) end = n;
        int from = at;
        while (from < end && v.charAt(from) == ' ') from++;
        int eq = v.indexOf('=', from);
        if (eq > 0 && eq < end) {
          int nameEnd = eq;
          while (nameEnd > from && v.charAt(nameEnd - 1) == ' ') nameEnd--;
          if (nameEnd - from == name.length() && v.regionMatches(from, name, 0, name.length())) {
            if (value.isEmpty()) return true;
            int valueFrom = eq + 1;
            int valueEnd = end;
            while (valueFrom < valueEnd && v.charAt(valueFrom) == ' ') valueFrom++;
            while (valueEnd > valueFrom && v.charAt(valueEnd - 1) == ' ') valueEnd--;
            if (valueEnd - valueFrom == value.length() && v.regionMatches(valueFrom, value, 0, value.length())) return true;
          }
        }
        at = end + 1;
      }
    }
    return false;
  }
}
