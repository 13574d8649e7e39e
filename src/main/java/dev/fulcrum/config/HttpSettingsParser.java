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
  private static final Pattern TOKEN = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+");
  /** Headers that describe the message framing or the connection: rules on them would break the proxying itself. */
  private static final Set<String> RESERVED_HEADERS =
      Set.of("content-length", "content-type", "transfer-encoding", "connection", "keep-alive", "te", "trailer", "upgrade",
          "proxy-connection");

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
      ConfigReader l =
          new ConfigReader(listeners.config().getConfig(key).withFallback(defaults.config()), listeners.full(key));
      HostPort bind = l.hostPort("bind", true);
      if (bind.port() != 0 && binds.putIfAbsent(bind, name) != null) {
        throw l.error("bind", bind + " is already used by http listener '" + binds.get(bind) + "'");
      }
      result.add(
          new HttpListenerSettings(
              name,
              bind,
              routes(l, pools, poolOverrides, defaults),
              firewall(l.child("firewall")),
              limits(l.child("limits")),
              l.positiveDuration("client-idle-timeout"),
              retryBudget(l.child("retry-budget")),
              engine(l),
              paths(l.child("paths")),
              TlsSettingsParser.parse(l),
              proxyProtocolFrom(l),
              http2(l.child("http2"))));
      HttpListenerSettings added = result.get(result.size() - 1);
      if (added.engine() == HttpListenerSettings.Engine.PEKKO
          && added.routes().stream().anyMatch(r -> r.upstream().sendProxyProtocol() != ProxyProtocolVersion.OFF)) {
        throw l.error("send-proxy-protocol", "needs engine = nio (Pekko's client pools cannot send a PROXY header)");
      }
      if (added.engine() == HttpListenerSettings.Engine.PEKKO && added.http2().any()) {
        throw l.error(added.http2().enabled() ? "http2.enabled" : "http2.cleartext",
            "needs engine = nio (HTTP/2 is served by the nio engine only)");
      }
      if (added.http2().enabled() && added.tls().isEmpty()) {
        throw l.error("http2.enabled", "offers h2 by TLS ALPN and this listener has no tls block; for plain HTTP/2 "
            + "with prior knowledge set http2.cleartext = on");
      }
    }
    return new HttpSettings(result);
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
    Map<String, Integer> seen = new HashMap<>();
    for (int i = 0; i < list.size(); i++) {
      String key = "routes[" + i + "]";
      if (list.get(i).valueType() != ConfigValueType.OBJECT) {
        throw listener.error("routes", key + " must be an object like {host = \"*\", path = \"/\", pool = web}");
      }
      Config own = ((ConfigObject) list.get(i)).toConfig();
      ConfigReader r = new ConfigReader(own, listener.full(key));
      String pool = r.string("pool");
      if (!pools.contains(pool)) throw r.error("pool", "unknown pool '" + pool + "'" + defined(pools));
      Config poolConfig = poolOverrides.getOrDefault(pool, com.typesafe.config.ConfigFactory.empty());
      ConfigReader resolved =
          new ConfigReader(own.withFallback(poolConfig).withFallback(listener.config()), listener.full(key));
      ConfigReader poolLevel = new ConfigReader(poolConfig.withFallback(defaults.config()), defaults.full("pools." + quoted(pool)));
      HttpRouteSettings route =
          new HttpRouteSettings(
              host(r),
              pathPrefix(r),
              pool,
              rewritePrefix(r),
              r.has("request-headers") ? headerRules(r.child("request-headers")) : HeaderRules.NONE,
              r.has("response-headers") ? headerRules(r.child("response-headers")) : HeaderRules.NONE,
              r.has("firewall") ? firewall(new ConfigReader(
                  own.getConfig("firewall").withFallback(FIREWALL_DEFAULTS), r.full("firewall"))) : FirewallSettings.OPEN,
              upstream(resolved),
              sticky(poolLevel.child("sticky")),
              r.has("forward-original-path") && read(r, "forward-original-path", r.config()::getBoolean));
      Integer previous = seen.putIfAbsent(route.host() + " " + route.pathPrefix(), i);
      if (previous != null) {
        throw listener.error(key, "matches the same host '" + route.host() + "' and path '" + route.pathPrefix()
            + "' as routes[" + previous + "]");
      }
      routes.add(route);
    }
    return routes;
  }

  private static final Config FIREWALL_DEFAULTS =
      com.typesafe.config.ConfigFactory.parseString("allow = [], deny = [], allow-paths = [], deny-paths = []");

  private static String host(ConfigReader route) {
    String host = route.has("host") ? route.string("host").trim().toLowerCase(java.util.Locale.ROOT) : "*";
    String name = host.startsWith("*.") ? host.substring(2) : host;
    if (!host.equals("*") && !name.matches("[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")) {
      throw route.error("host", "'" + host + "' is not \"*\", a host name or \"*.domain\"");
    }
    return host;
  }

  private static String pathPrefix(ConfigReader route) {
    String path = route.has("path") ? route.string("path") : "/";
    if (!path.startsWith("/")) throw route.error("path", "must start with '/', got '" + path + "'");
    if (path.length() > 1 && path.endsWith("/")) path = path.substring(0, path.length() - 1);
    return path;
  }

  private static Optional<String> rewritePrefix(ConfigReader route) {
    if (!route.has("rewrite-prefix")) return Optional.empty();
    String to = route.string("rewrite-prefix");
    if (!to.isEmpty() && !to.startsWith("/")) {
      throw route.error("rewrite-prefix", "must be empty (strip the prefix) or start with '/', got '" + to + "'");
    }
    return Optional.of(to.endsWith("/") ? to.substring(0, to.length() - 1) : to);
  }

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
    return new PathSettings(encodedSlash, read(paths, "merge-slashes", paths.config()::getBoolean));
  }

  private static StickySettings sticky(ConfigReader sticky) {
    boolean enabled = read(sticky, "enabled", sticky.config()::getBoolean);
    String cookie = sticky.string("cookie");
    if (!TOKEN.matcher(cookie).matches()) throw sticky.error("cookie", "'" + cookie + "' is not a valid cookie name");
    return new StickySettings(enabled, cookie);
  }

  static FirewallSettings firewall(ConfigReader fw) {
    return new FirewallSettings(cidrs(fw, "allow"), cidrs(fw, "deny"), paths(fw, "allow-paths"), paths(fw, "deny-paths"));
  }

  private static List<Cidr> cidrs(ConfigReader fw, String key) {
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
      String p = patterns.get(i);
      if (!p.startsWith("/") && !p.startsWith("*")) {
        throw fw.error(key, "[" + i + "] '" + p + "' must start with '/' or '*' (a glob on the request path)");
      }
    }
    return patterns;
  }

  private static Http2Settings http2(ConfigReader h2) {
    return new Http2Settings(
        read(h2, "enabled", h2.config()::getBoolean),
        read(h2, "cleartext", h2.config()::getBoolean),
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
    double ratio = read(budget, "ratio", budget.config()::getDouble);
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
      if (text.chars().anyMatch(c -> c == '\r' || c == '\n' || c == 0)) {
        throw rules.error(at, "must not contain CR, LF or NUL");
      }
      result.add(new Header(name, text));
    }
    result.sort(java.util.Comparator.comparing(Header::name));
    return result;
  }

  private static void checkHeaderName(ConfigReader rules, String key, String name) {
    if (!TOKEN.matcher(name).matches()) throw rules.error(key, "'" + name + "' is not a valid header name");
    String lower = name.toLowerCase(java.util.Locale.ROOT);
    if (RESERVED_HEADERS.contains(lower) || lower.startsWith("proxy-")) {
      throw rules.error(key, "'" + name + "' frames the message or the connection and cannot be rewritten");
    }
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
