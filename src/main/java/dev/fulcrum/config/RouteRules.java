package dev.fulcrum.config;

import dev.fulcrum.config.HttpRouteSettings.Header;
import dev.fulcrum.config.HttpRouteSettings.HeaderRules;
import dev.fulcrum.config.HttpRouteSettings.Match;
import dev.fulcrum.config.HttpRouteSettings.WeightedPool;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The rules a route table obeys, in one copy for the config parser (which names the config path) and the route
 * tables' entity (which names the field of the command): a problem is an {@link IllegalArgumentException} or a
 * {@link Problem} whose message is the same text either way.
 */
public final class RouteRules {
  static final Pattern TOKEN = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+");
  private static final Pattern HOST = Pattern.compile("[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*");
  /** Headers that describe the message framing or the connection: rules on them would break the proxying itself. */
  private static final Set<String> RESERVED_HEADERS =
      Set.of("content-length", "content-type", "transfer-encoding", "connection", "keep-alive", "te", "trailer", "upgrade",
          "proxy-connection");
  public static final int MAX_NAME = 200;

  private RouteRules() {}

  /** A problem with one field of a route table: {@code field} is like {@code routes[2].pool}. */
  public record Problem(String field, String message) {
    @Override
    public String toString() {
      return field + ": " + message;
    }
  }

  /** The host in its normal form (lower case, trimmed). */
  public static String host(String raw) {
    String host = raw.trim().toLowerCase(Locale.ROOT);
    String name = host.startsWith("*.") ? host.substring(2) : host;
    if (!host.equals("*") && !HOST.matcher(name).matches()) {
      throw new IllegalArgumentException("'" + host + "' is not \"*\", a host name or \"*.domain\"");
    }
    return host;
  }

  /** The path prefix in its normal form (no trailing slash but for "/"). */
  public static String pathPrefix(String raw) {
    if (!raw.startsWith("/")) throw new IllegalArgumentException("must start with '/', got '" + raw + "'");
    if (raw.chars().anyMatch(c -> c <= 0x20 || c == 0x7f || c == '?' || c == '#')) {
      throw new IllegalArgumentException("'" + raw + "' must not contain spaces, control characters, '?' or '#'");
    }
    return raw.length() > 1 && raw.endsWith("/") ? raw.substring(0, raw.length() - 1) : raw;
  }

  public static String rewritePrefix(String to) {
    if (!to.isEmpty() && !to.startsWith("/")) {
      throw new IllegalArgumentException("must be empty (strip the prefix) or start with '/', got '" + to + "'");
    }
    return to.endsWith("/") ? to.substring(0, to.length() - 1) : to;
  }

  public static String name(String name) {
    if (name.isBlank() || name.length() > MAX_NAME) throw new IllegalArgumentException("must have 1-" + MAX_NAME + " characters");
    if (name.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) throw new IllegalArgumentException("must not contain control characters");
    return name;
  }

  /** A header name that rewrite rules may touch. */
  public static void rewritableHeader(String name) {
    if (!TOKEN.matcher(name).matches()) throw new IllegalArgumentException("'" + name + "' is not a valid header name");
    String lower = name.toLowerCase(Locale.ROOT);
    if (RESERVED_HEADERS.contains(lower) || lower.startsWith("proxy-")) {
      throw new IllegalArgumentException("'" + name + "' frames the message or the connection and cannot be rewritten");
    }
  }

  public static void headerValue(String value) {
    if (value.chars().anyMatch(c -> c == '\r' || c == '\n' || c == 0)) throw new IllegalArgumentException("must not contain CR, LF or NUL");
  }

  /** A firewall path glob: '*' matches anything; it starts with '/' or '*' and has no spaces or control characters. */
  public static void pathGlob(String p) {
    if (!p.startsWith("/") && !p.startsWith("*")) {
      throw new IllegalArgumentException("'" + p + "' must start with '/' or '*' (a glob on the request path)");
    }
    if (p.chars().anyMatch(c -> c <= 0x20 || c == 0x7f)) {
      throw new IllegalArgumentException("'" + p + "' must not contain spaces or control characters");
    }
  }

  /** {@code "X-Canary: 1"} or {@code "X-Canary"} (present, any value). */
  public static Header matchHeader(String text) {
    int colon = text.indexOf(':');
    String name = (colon < 0 ? text : text.substring(0, colon)).trim();
    String value = colon < 0 ? "" : text.substring(colon + 1).trim();
    if (!TOKEN.matcher(name).matches()) {
      throw new IllegalArgumentException("'" + text + "' is not \"Header-Name: value\" or \"Header-Name\"");
    }
    headerValue(value);
    return new Header(name, value);
  }

  /** {@code "canary=1"} or {@code "canary"} (present, any value). */
  public static Header matchCookie(String text) {
    int eq = text.indexOf('=');
    String name = (eq < 0 ? text : text.substring(0, eq)).trim();
    String value = eq < 0 ? "" : text.substring(eq + 1).trim();
    if (!TOKEN.matcher(name).matches() || value.chars().anyMatch(c -> c <= 0x20 || c == ';' || c == ',' || c == 0x7f)) {
      throw new IllegalArgumentException("'" + text + "' is not \"cookie-name=value\" or \"cookie-name\"");
    }
    return new Header(name, value);
  }

  /** The problem with a route's pools: unknown ones, weights outside 0-100 or not adding up to 100, repeated pools. */
  public static Optional<Problem> pools(List<WeightedPool> split, Set<String> known, String at) {
    if (split.isEmpty()) return Optional.of(new Problem(at + ".pool", "is missing"));
    Set<String> seen = new HashSet<>();
    int sum = 0;
    for (int i = 0; i < split.size(); i++) {
      WeightedPool p = split.get(i);
      String field = split.size() == 1 ? at + ".pool" : at + ".pools[" + i + "]";
      String where = split.size() == 1 ? field : field + ".pool";
      if (p.pool() == null || !known.contains(p.pool())) {
        return Optional.of(new Problem(where, "unknown pool '" + p.pool() + "'" + defined(known)));
      }
      if (!seen.add(p.pool())) return Optional.of(new Problem(where, "pool '" + p.pool() + "' appears twice"));
      if (split.size() > 1 && (p.weight() < 0 || p.weight() > 100)) {
        return Optional.of(new Problem(field + ".weight", p.weight() + " is outside 0-100"));
      }
      sum += p.weight();
    }
    if (split.size() > 1 && sum != 100) {
      return Optional.of(new Problem(at + ".pools", "the weights add up to " + sum + ", not 100"));
    }
    return Optional.empty();
  }

  static String defined(Set<String> pools) {
    return " (defined: " + String.join(", ", pools.stream().sorted().toList()) + ")";
  }

  /**
   * The first problem of a whole table, each route checked field by field as the config parser checks it, then
   * against the others: names are unique; two routes for the same host, path and condition overlap; a route after one
   * for the same host and path without a condition is unreachable (that one takes every such request first).
   */
  public static Optional<Problem> table(List<HttpRouteSettings> routes, Set<String> pools) {
    if (routes.isEmpty()) return Optional.of(new Problem("routes", "is empty: add at least one route, e.g. [{pool = web}]"));
    Map<String, Integer> names = new HashMap<>();
    for (int i = 0; i < routes.size(); i++) {
      String at = "routes[" + i + "]";
      HttpRouteSettings r = routes.get(i);
      Optional<Problem> own = route(r, pools, at);
      if (own.isPresent()) return own;
      for (int j = 0; j < i; j++) {
        HttpRouteSettings earlier = routes.get(j);
        if (!earlier.host().equals(r.host()) || !earlier.pathPrefix().equals(r.pathPrefix())) continue;
        if (earlier.match().equals(r.match())) {
          return Optional.of(new Problem(at, "matches the same host '" + r.host() + "' and path '" + r.pathPrefix()
              + "'" + (r.match().none() ? "" : " and condition " + r.match()) + " as routes[" + j + "]"));
        }
        if (earlier.match().none()) {
          return Optional.of(new Problem(at, "is unreachable: routes[" + j + "] ('" + earlier.name() + "') takes every request "
              + "to host '" + r.host() + "' and path '" + r.pathPrefix() + "' before it; put the route with a condition first"));
        }
      }
      Integer named = names.putIfAbsent(r.name(), i);
      if (named != null) return Optional.of(new Problem(at + ".name", "'" + r.name() + "' is the name of routes[" + named + "] too"));
    }
    return Optional.empty();
  }

  /** Why a listener served by Pekko HTTP cannot take a route that sends a PROXY header to its backends. */
  public static final String PEKKO_CANNOT_SEND_PROXY = "needs engine = nio (Pekko's client pools cannot send a PROXY header)";

  /**
   * The first route of the table that the listener's {@code engine} cannot serve, as the config parser refuses it at
   * start-up and the route tables' entity refuses a runtime change: today only {@code send-proxy-protocol} under
   * {@code engine = pekko}.
   */
  public static Optional<Problem> engine(List<HttpRouteSettings> routes, HttpListenerSettings.Engine engine) {
    if (engine != HttpListenerSettings.Engine.PEKKO) return Optional.empty();
    for (int i = 0; i < routes.size(); i++) {
      HttpRouteSettings.Upstream u = routes.get(i).upstream();
      if (u != null && u.sendProxyProtocol() != null && u.sendProxyProtocol() != ProxyProtocolVersion.OFF) {
        return Optional.of(new Problem("routes[" + i + "].send-proxy-protocol", PEKKO_CANNOT_SEND_PROXY));
      }
    }
    return Optional.empty();
  }

  /** One route's own problems, as the parser would have found them in a config. */
  static Optional<Problem> route(HttpRouteSettings r, Set<String> pools, String at) {
    try {
      field(at + ".name", () -> name(r.name() == null ? "" : r.name()));
      field(at + ".host", () -> {
        if (r.host() == null || !host(r.host()).equals(r.host())) {
          throw new IllegalArgumentException("'" + r.host() + "' is not \"*\", a host name or \"*.domain\" in lower case");
        }
      });
      field(at + ".path", () -> {
        if (r.pathPrefix() == null || !pathPrefix(r.pathPrefix()).equals(r.pathPrefix())) {
          throw new IllegalArgumentException("'" + r.pathPrefix() + "' is not a path prefix ('/' and segments, no trailing '/')");
        }
      });
      r.match().header().ifPresent(h -> field(at + ".match-header", () -> matchHeader(h.name() + (h.value().isEmpty() ? "" : ": " + h.value()))));
      r.match().cookie().ifPresent(c -> field(at + ".match-cookie", () -> matchCookie(c.name() + (c.value().isEmpty() ? "" : "=" + c.value()))));
      r.rewritePrefix().ifPresent(p -> field(at + ".rewrite-prefix", () -> {
        if (!rewritePrefix(p).equals(p)) throw new IllegalArgumentException("must not end with '/', got '" + p + "'");
      }));
      rules(r.requestHeaders(), at + ".request-headers");
      rules(r.responseHeaders(), at + ".response-headers");
      firewall(r.firewall(), at + ".firewall");
      upstream(r.upstream(), at);
      if (r.sticky() == null || r.sticky().cookie() == null || !TOKEN.matcher(r.sticky().cookie()).matches()) {
        throw new FieldProblem(at + ".sticky.cookie", "'" + (r.sticky() == null ? null : r.sticky().cookie()) + "' is not a valid cookie name");
      }
    } catch (FieldProblem p) {
      return Optional.of(new Problem(p.field, p.getMessage()));
    }
    return pools(r.pools(), pools, at);
  }

  private static void rules(HeaderRules rules, String at) {
    if (rules == null) throw new FieldProblem(at, "is missing");
    for (int i = 0; i < rules.remove().size(); i++) {
      String name = rules.remove().get(i);
      field(at + ".remove", () -> rewritableHeader(name));
    }
    for (String kind : List.of("set", "add")) {
      for (Header h : kind.equals("set") ? rules.set() : rules.add()) {
        String field = at + "." + kind + "." + com.typesafe.config.ConfigUtil.joinPath(String.valueOf(h.name()));
        field(field, () -> rewritableHeader(h.name()));
        field(field, () -> headerValue(h.value() == null ? "\0" : h.value()));
      }
    }
  }

  private static void firewall(FirewallSettings fw, String at) {
    if (fw == null) throw new FieldProblem(at, "is missing");
    for (String key : List.of("allow", "deny")) {
      List<Cidr> cidrs = key.equals("allow") ? fw.allow() : fw.deny();
      for (int i = 0; i < cidrs.size(); i++) {
        Cidr c = cidrs.get(i);
        int index = i;
        field(at + "." + key, () -> {
          try {
            if (!Cidr.parse(c.text()).equals(c) || c.prefixLength() != Cidr.parse(c.text()).prefixLength()) {
              throw new IllegalArgumentException("'" + c.text() + "' does not match its network");
            }
          } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("[" + index + "] " + e.getMessage());
          }
        });
      }
    }
    for (String key : List.of("allow-paths", "deny-paths")) {
      List<String> globs = key.equals("allow-paths") ? fw.allowPaths() : fw.denyPaths();
      for (int i = 0; i < globs.size(); i++) {
        String g = globs.get(i);
        int index = i;
        field(at + "." + key, () -> {
          try {
            pathGlob(g);
          } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("[" + index + "] " + e.getMessage());
          }
        });
      }
    }
  }

  private static void upstream(HttpRouteSettings.Upstream u, String at) {
    if (u == null) throw new FieldProblem(at + ".upstream", "is missing");
    positive(u.connectTimeout(), at + ".connect-timeout");
    positive(u.responseTimeout(), at + ".response-timeout");
    positive(u.idleTimeout(), at + ".backend-idle-timeout");
    positive(u.keepAliveTimeout(), at + ".backend-keep-alive-timeout");
    positive(u.queueTimeout(), at + ".queue-timeout");
    within(u.maxAttempts(), 1, 10, at + ".max-attempts");
    within(u.maxConnections(), 1, 100_000, at + ".max-connections-per-backend");
    within(u.queueSize(), 0, 1_000_000, at + ".queue-size");
    if (u.sendProxyProtocol() == null) throw new FieldProblem(at + ".send-proxy-protocol", "is missing");
  }

  private static void positive(java.time.Duration d, String field) {
    if (d == null || d.isNegative() || d.isZero()) throw new FieldProblem(field, "must be a positive duration, got " + d);
  }

  private static void within(int value, int min, int max, String field) {
    if (value < min || value > max) throw new FieldProblem(field, value + " is outside " + min + "-" + max);
  }

  private static void field(String field, Runnable check) {
    try {
      check.run();
    } catch (IllegalArgumentException e) {
      throw new FieldProblem(field, e.getMessage());
    }
  }

  private static final class FieldProblem extends RuntimeException {
    final String field;

    FieldProblem(String field, String message) {
      super(message, null, false, false);
      this.field = field;
    }
  }
}
