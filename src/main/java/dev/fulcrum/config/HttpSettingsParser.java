package dev.fulcrum.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import dev.fulcrum.config.HttpListenerSettings.HttpLimits;
import dev.fulcrum.config.HttpListenerSettings.RetryBudgetSettings;
import dev.fulcrum.config.HttpRouteSettings.Header;
import dev.fulcrum.config.HttpRouteSettings.HeaderRules;
import dev.fulcrum.config.HttpRouteSettings.StickySettings;
import dev.fulcrum.config.HttpRouteSettings.Upstream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * Parses {@code fulcrum.listeners.http} with the defaults of {@code fulcrum.http} and the per-pool overrides of {@code
 * fulcrum.http.pools}. A route's backend settings come from the route, else its pool, else its listener, else {@code
 * fulcrum.http}.
 */
public final class HttpSettingsParser {
  private static final Pattern TOKEN = RouteRules.TOKEN;

  private HttpSettingsParser() {}

  static HttpSettings parse(ConfigReader fulcrum, Set<String> pools) {
    ConfigReader defaults = fulcrum.child("http");
    Map<String, Config> poolOverrides = poolOverrides(defaults, pools);
    ConfigReader listeners = fulcrum.child("listeners").child("http");
    List<HttpListenerSettings> result = new ArrayList<>();
    Map<HostPort, String> binds = new HashMap<>();
    for (String name : listeners.config().root().keySet().stream().sorted().toList()) {
      String key = quoted(name);
      checkName(listeners, key, name);
      HttpListenerSettings added = listener(listeners, name, pools, poolOverrides, defaults, false);
      if (added.bind().port() != 0 && binds.putIfAbsent(added.bind(), name) != null) {
        throw new ConfigReader(listeners.config().getConfig(key), listeners.full(key))
            .error("bind", added.bind() + " is already used by http listener '" + binds.get(added.bind()) + "'");
      }
      result.add(added);
    }
    return new HttpSettings(result);
  }

  private static HttpListenerSettings listener(ConfigReader listeners, String name, Set<String> pools,
      Map<String, Config> poolOverrides, ConfigReader defaults, boolean routesOptional) {
    String key = quoted(name);
    ConfigReader l =
        new ConfigReader(listeners.config().getConfig(key).withFallback(defaults.config()), listeners.full(key));
    HostPort bind = l.hostPort("bind", true);
    HttpListenerSettings added = new HttpListenerSettings(
        name,
        bind,
        routesOptional && !l.has("routes") ? List.of() : routes(l, pools, poolOverrides, defaults),
        firewall(l.child("firewall")),
        limits(l.child("limits")),
        l.positiveDuration("client-idle-timeout"),
        retryBudget(l.child("retry-budget")),
        engine(l),
        paths(l.child("paths")),
        TlsSettingsParser.parse(l),
        proxyProtocolFrom(l),
        http2(l.child("http2")));
    // the setting may come from the listener, a route or a pool's overrides: the config names the listener's
    if (RouteRules.engine(added.routes(), added.engine()).isPresent()) {
      throw l.error("send-proxy-protocol", RouteRules.PEKKO_CANNOT_SEND_PROXY);
    }
    if (added.engine() == HttpListenerSettings.Engine.PEKKO && added.http2().any()) {
      throw l.error(added.http2().enabled() ? "http2.enabled" : "http2.cleartext",
          "needs engine = nio (HTTP/2 is served by the nio engine only)");
    }
    if (added.http2().enabled() && added.tls().isEmpty()) {
      throw l.error("http2.enabled", "offers h2 by TLS ALPN and this listener has no tls block; for plain HTTP/2 "
          + "with prior knowledge set http2.cleartext = on");
    }
    return added;
  }

  /**
   * An HTTP listener added at runtime: {@code body} (HOCON or JSON) holds what {@code fulcrum.listeners.http.<name>}
   * would, over the node's {@code fulcrum.http} defaults, with the config's checks and texts (paths start with
   * {@code <name>.}); {@code routes} may be left out (the listener then takes the route table its name has).
   */
  public static HttpListenerSettings parseListener(Config root, String name, Config body, Set<String> pools) {
    ConfigReader fulcrum = new ConfigReader(root, "").child("fulcrum");
    ConfigReader defaults = fulcrum.child("http");
    Map<String, Config> poolOverrides = new HashMap<>();
    ConfigReader overrides = defaults.child("pools");
    for (String pool : overrides.config().root().keySet()) poolOverrides.put(pool, overrides.config().getConfig(quoted(pool)));
    checkName(new ConfigReader(com.typesafe.config.ConfigFactory.empty(), ""), "name", name);
    new ConfigReader(body, quoted(name)).onlyKnown(body, LISTENER_FIELDS, "an http listener");
    Config wrapped = com.typesafe.config.ConfigFactory.empty().withValue(quoted(name), body.root());
    return listener(new ConfigReader(wrapped, ""), name, pools, poolOverrides, defaults, true);
  }

  private static HttpListenerSettings.Engine engine(ConfigReader listener) {
    return switch (listener.string("engine")) {
      case "nio" -> HttpListenerSettings.Engine.NIO;
      case "pekko" -> HttpListenerSettings.Engine.PEKKO;
      default -> throw listener.error("engine", "'" + listener.string("engine") + "' is not an http engine (nio, pekko)");
    };
  }

  private static Map<String, Config> poolOverrides(ConfigReader defaults, Set<String> pools) {
    ConfigReader overrides = defaults.child("pools");
    Map<String, Config> result = new HashMap<>();
    for (String name : overrides.config().root().keySet()) {
      if (!pools.contains(name)) throw overrides.error(quoted(name), "unknown pool '" + name + "'" + defined(pools));
      result.put(name, overrides.config().getConfig(quoted(name)));
    }
    return result;
  }

  private static List<HttpRouteSettings> routes(
      ConfigReader listener, Set<String> pools, Map<String, Config> poolOverrides, ConfigReader defaults) {
    List<? extends ConfigValue> list = read(listener, "routes", listener.config()::getList);
    if (list.isEmpty()) throw listener.error("routes", "is empty: add at least one route, e.g. [{pool = web}]");
    List<HttpRouteSettings> routes = new ArrayList<>();
    for (int i = 0; i < list.size(); i++) {
      String key = "routes[" + i + "]";
      if (list.get(i).valueType() != ConfigValueType.OBJECT) {
        throw listener.error("routes", key + " must be an object like {host = \"*\", path = \"/\", pool = web}");
      }
      routes.add(route(listener, key, ((ConfigObject) list.get(i)).toConfig(), pools, poolOverrides, defaults));
    }
    RouteRules.table(routes, pools).ifPresent(problem -> {
      throw listener.error(problem.field(), problem.message());
    });
    return routes;
  }

  /**
   * The fields an HTTP listener may have: those it can override of {@code fulcrum.http} (not the pools' overrides and
   * sticky, which are the pools') and its own; not {@code access-log}, which only the config sets
   * (by the listener's name, at start).
   */
  static final Set<String> LISTENER_FIELDS = listenerFields("http", Set.of("pools", "sticky"),
      Set.of("bind", "routes", "tls", "proxy-protocol"));

  /** The keys of reference.conf's {@code fulcrum.<defaults>} block, less {@code not}, and {@code own}. */
  static Set<String> listenerFields(String defaults, Set<String> not, Set<String> own) {
    Set<String> fields = new java.util.HashSet<>(own);
    fields.addAll(com.typesafe.config.ConfigFactory.defaultReference().getObject("fulcrum." + defaults).keySet());
    fields.removeAll(not);
    return Set.copyOf(fields);
  }

  /** The fields a route may have, in the config and in the admin API's bodies. */
  public static final Set<String> ROUTE_FIELDS = Set.of("name", "host", "path", "pool", "pools", "match-header", "match-cookie",
      "rewrite-prefix", "request-headers", "response-headers", "firewall", "forward-original-path", "connect-timeout",
      "response-timeout", "backend-idle-timeout", "backend-keep-alive-timeout", "max-attempts", "max-connections-per-backend",
      "queue-size", "queue-timeout", "send-proxy-protocol");

  private static HttpRouteSettings route(
      ConfigReader listener, String key, Config own, Set<String> pools, Map<String, Config> poolOverrides, ConfigReader defaults) {
    ConfigReader r = new ConfigReader(own, listener.full(key));
    r.onlyKnown(own, ROUTE_FIELDS, "a route");
    List<HttpRouteSettings.WeightedPool> split = split(r);
    String pool = split.get(0).pool();
    Config poolConfig = poolOverrides.getOrDefault(pool, com.typesafe.config.ConfigFactory.empty());
    ConfigReader resolved =
        new ConfigReader(own.withFallback(poolConfig).withFallback(listener.config()), listener.full(key));
    ConfigReader poolLevel = new ConfigReader(poolConfig.withFallback(defaults.config()), defaults.full("pools." + quoted(pool)));
    String host = checked(r, "host", () -> RouteRules.host(r.has("host") ? r.string("host") : "*"));
    String path = checked(r, "path", () -> RouteRules.pathPrefix(r.has("path") ? r.string("path") : "/"));
    HttpRouteSettings.Match match = new HttpRouteSettings.Match(
        r.has("match-header") ? Optional.of(checked(r, "match-header", () -> RouteRules.matchHeader(r.string("match-header")))) : Optional.empty(),
        r.has("match-cookie") ? Optional.of(checked(r, "match-cookie", () -> RouteRules.matchCookie(r.string("match-cookie")))) : Optional.empty());
    String name = r.has("name")
        ? checked(r, "name", () -> RouteRules.name(r.string("name")))
        : HttpRouteSettings.defaultName(host, path, match);
    return new HttpRouteSettings(
        name,
        host,
        path,
        match,
        split,
        r.has("rewrite-prefix") ? Optional.of(checked(r, "rewrite-prefix", () -> RouteRules.rewritePrefix(r.string("rewrite-prefix")))) : Optional.empty(),
        r.has("request-headers") ? headerRules(r.child("request-headers")) : HeaderRules.NONE,
        r.has("response-headers") ? headerRules(r.child("response-headers")) : HeaderRules.NONE,
        r.has("firewall") ? firewall(new ConfigReader(
            own.getConfig("firewall").withFallback(FIREWALL_DEFAULTS), r.full("firewall"))) : FirewallSettings.OPEN,
        upstream(resolved),
        sticky(poolLevel.child("sticky")),
        r.has("forward-original-path") && r.bool("forward-original-path"));
  }

  /** {@code pool = web}, or {@code pools = [{pool = blue, weight = 90}, {pool = green, weight = 10}]}. */
  private static List<HttpRouteSettings.WeightedPool> split(ConfigReader r) {
    if (r.has("pool") == r.has("pools")) throw r.error("pool", r.has("pool") ? "give pool or pools, not both" : "is missing");
    if (r.has("pool")) return List.of(new HttpRouteSettings.WeightedPool(r.string("pool"), 100));
    List<? extends ConfigValue> list = read(r, "pools", r.config()::getList);
    if (list.isEmpty()) throw r.error("pools", "is empty: give {pool, weight} objects whose weights add up to 100");
    List<HttpRouteSettings.WeightedPool> result = new ArrayList<>();
    for (int i = 0; i < list.size(); i++) {
      String key = "pools[" + i + "]";
      if (list.get(i).valueType() != ConfigValueType.OBJECT) throw r.error("pools", key + " must be an object like {pool = web, weight = 90}");
      ConfigReader p = new ConfigReader(((ConfigObject) list.get(i)).toConfig(), r.full(key));
      result.add(new HttpRouteSettings.WeightedPool(p.string("pool"), p.intIn("weight", 0, 100)));
    }
    // RouteRules checks a split's sum; a list of one pool written with weight 60 is a split whose other part was left
    // out, not all the traffic (which pool = web, or the Java API's one pool whatever its weight, are)
    if (result.size() == 1 && result.get(0).weight() != 100) {
      throw r.error("pools", "the weights add up to " + result.get(0).weight() + ", not 100 (for all of it: pool = "
          + result.get(0).pool() + ")");
    }
    return result;
  }

  /**
   * One route given as HOCON or JSON (the admin API's body), resolved as a route of {@code listener} would be in the
   * config (its backend settings from the pool's and the listener's config, else {@code fulcrum.http}), with the
   * config's errors, whose path starts with {@code route}. Table-wide rules (known pools, overlaps) are the route
   * table's: see {@link RouteRules#table}.
   */
  public static HttpRouteSettings parseRoute(Config root, String listener, Config route, Set<String> pools) {
    ConfigReader fulcrum = new ConfigReader(root, "").child("fulcrum");
    ConfigReader defaults = fulcrum.child("http");
    Map<String, Config> poolOverrides = new HashMap<>();
    ConfigReader overrides = defaults.child("pools");
    for (String name : overrides.config().root().keySet()) poolOverrides.put(name, overrides.config().getConfig(quoted(name)));
    String at = "fulcrum.listeners.http." + quoted(listener);
    Config listenerConfig = root.hasPath(at) ? root.getConfig(at).withFallback(defaults.config()) : defaults.config();
    ConfigReader l = new ConfigReader(listenerConfig, "");
    return route(l, "route", route, pools, poolOverrides, defaults);
  }

  private static <T> T checked(ConfigReader r, String key, java.util.function.Supplier<T> check) {
    try {
      return check.get();
    } catch (IllegalArgumentException e) {
      throw r.error(key, e.getMessage());
    }
  }

  private static final Config FIREWALL_DEFAULTS =
      com.typesafe.config.ConfigFactory.parseString("allow = [], deny = [], allow-paths = [], deny-paths = []");

  private static Upstream upstream(ConfigReader r) {
    return new Upstream(
        r.positiveDuration("connect-timeout"),
        r.positiveDuration("response-timeout"),
        r.positiveDuration("backend-idle-timeout"),
        r.positiveDuration("backend-keep-alive-timeout"),
        r.intIn("max-attempts", 1, 10),
        r.intIn("max-connections-per-backend", 1, 100_000),
        r.intIn("queue-size", 0, 1_000_000),
        r.positiveDuration("queue-timeout"),
        ProxyProtocolVersion.parse(r, "send-proxy-protocol"));
  }

  /** Who may send a PROXY protocol header first (the nio engine reads it; Pekko HTTP has no place to). */
  private static List<Cidr> proxyProtocolFrom(ConfigReader listener) {
    if (!listener.has("proxy-protocol.trusted")) return List.of();
    List<Cidr> trusted = cidrs(listener.child("proxy-protocol"), "trusted");
    if (!trusted.isEmpty() && engine(listener) == HttpListenerSettings.Engine.PEKKO) {
      throw listener.error("proxy-protocol", "needs engine = nio (Pekko HTTP cannot read a PROXY header)");
    }
    return trusted;
  }

  private static PathSettings paths(ConfigReader paths) {
    String slash = paths.string("encoded-slash");
    PathSettings.EncodedSlash encodedSlash;
    try {
      encodedSlash = PathSettings.EncodedSlash.valueOf(slash.trim().toUpperCase(java.util.Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw paths.error("encoded-slash", "must be decode, reject or keep, got '" + slash + "'");
    }
    return new PathSettings(encodedSlash, paths.bool("merge-slashes"));
  }

  private static StickySettings sticky(ConfigReader sticky) {
    boolean enabled = sticky.bool("enabled");
    String cookie = sticky.string("cookie");
    if (!TOKEN.matcher(cookie).matches()) throw sticky.error("cookie", "'" + cookie + "' is not a valid cookie name");
    return new StickySettings(enabled, cookie);
  }

  static FirewallSettings firewall(ConfigReader fw) {
    return new FirewallSettings(cidrs(fw, "allow"), cidrs(fw, "deny"), paths(fw, "allow-paths"), paths(fw, "deny-paths"));
  }

  static List<Cidr> cidrs(ConfigReader fw, String key) {
    List<String> texts = read(fw, key, fw.config()::getStringList);
    List<Cidr> result = new ArrayList<>();
    for (int i = 0; i < texts.size(); i++) {
      try {
        result.add(Cidr.parse(texts.get(i)));
      } catch (IllegalArgumentException e) {
        throw fw.error(key, "[" + i + "] " + e.getMessage());
      }
    }
    return result;
  }

  private static List<String> paths(ConfigReader fw, String key) {
    List<String> patterns = read(fw, key, fw.config()::getStringList);
    for (int i = 0; i < patterns.size(); i++) {
      try {
        RouteRules.pathGlob(patterns.get(i));
      } catch (IllegalArgumentException e) {
        throw fw.error(key, "[" + i + "] " + e.getMessage());
      }
    }
    return patterns;
  }

  private static Http2Settings http2(ConfigReader h2) {
    return new Http2Settings(
        h2.bool("enabled"),
        h2.bool("cleartext"),
        h2.intIn("max-concurrent-streams", 1, 10_000),
        bytesIn(h2, "stream-window", 1024, Integer.MAX_VALUE),
        bytesIn(h2, "connection-window", 65_535, Integer.MAX_VALUE),
        bytesIn(h2, "max-header-list-size", 1024, 16 << 20),
        h2.intIn("max-control-frames-per-second", 10, 1_000_000),
        h2.intIn("max-resets-per-second", 1, 1_000_000));
  }

  private static HttpLimits limits(ConfigReader limits) {
    long body = read(limits, "max-body-size", limits.config()::getBytes);
    if (body < 0) throw limits.error("max-body-size", "must not be negative");
    return new HttpLimits(
        bytesIn(limits, "max-header-value-length", 16, 1 << 20),
        limits.intIn("max-header-count", 1, 10_000),
        bytesIn(limits, "max-uri-length", 16, 1 << 20),
        body,
        ConnectionLimit.parse(limits, "max-connections"));
  }

  private static int bytesIn(ConfigReader r, String key, int min, int max) {
    long value = read(r, key, r.config()::getBytes);
    if (value < min || value > max) throw r.error(key, value + " bytes is outside " + min + "-" + max);
    return (int) value;
  }

  private static RetryBudgetSettings retryBudget(ConfigReader budget) {
    double ratio = budget.decimal("ratio");
    if (ratio < 0 || ratio > 10) throw budget.error("ratio", ratio + " is outside 0-10");
    return new RetryBudgetSettings(ratio, budget.intIn("burst", 0, 1_000_000));
  }

  private static HeaderRules headerRules(ConfigReader rules) {
    List<String> remove = rules.has("remove") ? read(rules, "remove", rules.config()::getStringList) : List.of();
    for (int i = 0; i < remove.size(); i++) checkHeaderName(rules, "remove", remove.get(i));
    return new HeaderRules(remove, headers(rules, "set"), headers(rules, "add"));
  }

  private static List<Header> headers(ConfigReader rules, String key) {
    if (!rules.has(key)) return List.of();
    ConfigObject object = read(rules, key, rules.config()::getObject);
    List<Header> result = new ArrayList<>();
    for (Map.Entry<String, ConfigValue> e : object.entrySet()) {
      String name = e.getKey();
      String at = key + "." + quoted(name);
      checkHeaderName(rules, at, name);
      ConfigValue value = e.getValue();
      if (value.valueType() == ConfigValueType.OBJECT || value.valueType() == ConfigValueType.LIST) {
        throw rules.error(at, "must be a string (quote header names that contain dots)");
      }
      String text = String.valueOf(value.unwrapped());
      checked(rules, at, () -> {
        RouteRules.headerValue(text);
        return text;
      });
      result.add(new Header(name, text));
    }
    result.sort(java.util.Comparator.comparing(Header::name));
    return result;
  }

  private static void checkHeaderName(ConfigReader rules, String key, String name) {
    checked(rules, key, () -> {
      RouteRules.rewritableHeader(name);
      return name;
    });
  }

  private static void checkName(ConfigReader parent, String key, String name) {
    try {
      SettingsParser.checkName(name);
    } catch (IllegalArgumentException e) {
      throw parent.error(key, e.getMessage());
    }
  }

  private static String defined(Set<String> pools) {
    return " (defined: " + String.join(", ", pools.stream().sorted().toList()) + ")";
  }

  private static <T> T read(ConfigReader r, String key, Function<String, T> getter) {
    try {
      return getter.apply(key);
    } catch (ConfigException.Missing e) {
      throw r.error(key, "is missing");
    } catch (ConfigException e) {
      String message = e.getMessage();
      int at = message.lastIndexOf(": ");
      throw r.error(key, at >= 0 ? message.substring(at + 2) : message);
    }
  }

  private static String quoted(String key) {
    return com.typesafe.config.ConfigUtil.joinPath(key);
  }
}
