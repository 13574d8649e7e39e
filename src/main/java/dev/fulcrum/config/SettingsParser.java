package dev.fulcrum.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import dev.fulcrum.routing.StrategyKind;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/** Turns the {@code fulcrum} section of a resolved config into {@link FulcrumSettings}, or fails with one clear line. */
public final class SettingsParser {
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_-]{0,62}");

  private SettingsParser() {}

  public static FulcrumSettings parse(Config root) {
    ConfigReader fulcrum = new ConfigReader(root, "").child("fulcrum");
    // Checked on its own first, so a mistake in the defaults is reported where it was written, not under a pool.
    healthCheck(fulcrum.child("health-check"));
    List<PoolSettings> pools = pools(fulcrum);
    Set<String> poolNames = new HashSet<>();
    pools.forEach(p -> poolNames.add(p.name()));
    List<TcpListenerSettings> tcp = tcpListeners(fulcrum, poolNames);
    ConfigReader balancing = fulcrum.child("balancing");
    return new FulcrumSettings(
        pools,
        tcp,
        demo(fulcrum.child("demo")),
        fulcrum.child("shutdown").positiveDuration("drain-timeout"),
        fulcrum.intIn("event-loops", 0, 1024),
        StrategySettingsParser.parse(balancing, balancing),
        HttpSettingsParser.parse(fulcrum, poolNames));
  }

  /** Validates a pool or listener name: it appears in actor names and admin URLs. */
  public static String checkName(String name) {
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "'" + name + "' is not a valid name (letters, digits, '-' and '_', at most 63, starting with a letter or digit)");
    }
    return name;
  }

  private static List<PoolSettings> pools(ConfigReader fulcrum) {
    ConfigReader pools = fulcrum.child("pools");
    List<PoolSettings> result = new ArrayList<>();
    for (String name : sortedKeys(pools.config())) {
      ConfigReader pool = pools.child(quoted(name));
      checkName(pools, name);
      result.add(pool(pool, name, fulcrum.child("health-check"), fulcrum.child("balancing")));
    }
    return result;
  }

  private static PoolSettings pool(
      ConfigReader pool, String name, ConfigReader defaultHealth, ConfigReader defaultBalancing) {
    StrategyKind strategy;
    try {
      strategy = StrategyKind.fromName(pool.has("strategy") ? pool.string("strategy") : "round-robin");
    } catch (IllegalArgumentException e) {
      throw pool.error("strategy", e.getMessage());
    }
    ConfigReader health =
        pool.has("health-check")
            ? new ConfigReader(
                pool.config().getConfig("health-check").withFallback(defaultHealth.config()),
                pool.full("health-check"))
            : new ConfigReader(defaultHealth.config(), pool.full("health-check"));
    return new PoolSettings(
        name, strategy, backends(pool), healthCheck(health), StrategySettingsParser.parse(pool, defaultBalancing));
  }

  private static List<BackendSettings> backends(ConfigReader pool) {
    if (!pool.has("backends")) throw pool.error("backends", "is missing (a list of \"host:port\")");
    ConfigValue value = pool.config().getValue("backends");
    List<BackendSettings> result = new ArrayList<>();
    Set<HostPort> seen = new HashSet<>();
    if (value.valueType() == ConfigValueType.STRING) {
      String text = ((String) value.unwrapped()).trim();
      String[] parts = text.isEmpty() ? new String[0] : text.split("\\s*,\\s*");
      for (int i = 0; i < parts.length; i++) {
        add(pool, "backends", result, seen, new BackendSettings(pool.hostPort("backends", parts[i], false), 1));
      }
      return result;
    }
    if (value.valueType() != ConfigValueType.LIST) {
      throw pool.error("backends", "must be a list of \"host:port\" or {address, weight}, or a comma-separated string");
    }
    List<? extends ConfigValue> list = pool.config().getList("backends");
    for (int i = 0; i < list.size(); i++) {
      String key = "backends[" + i + "]";
      ConfigValue item = list.get(i);
      if (item.valueType() == ConfigValueType.STRING) {
        add(pool, key, result, seen, new BackendSettings(pool.hostPort("backends", (String) item.unwrapped(), false), 1));
      } else if (item.valueType() == ConfigValueType.OBJECT) {
        Config object = ((com.typesafe.config.ConfigObject) item).toConfig();
        ConfigReader backend = new ConfigReader(object, pool.full(key));
        HostPort address = backend.hostPort("address", false);
        int weight = backend.has("weight") ? backend.intIn("weight", 0, BackendSettings.MAX_WEIGHT) : 1;
        add(pool, key, result, seen, new BackendSettings(address, weight));
      } else {
        throw pool.error(key, "must be \"host:port\" or {address = \"host:port\", weight = N}");
      }
    }
    return result;
  }

  private static void add(
      ConfigReader pool, String key, List<BackendSettings> into, Set<HostPort> seen, BackendSettings backend) {
    if (!seen.add(backend.address())) throw pool.error(key, "duplicate backend " + backend.address());
    into.add(backend);
  }

  static HealthCheckSettings healthCheck(ConfigReader hc) {
    HealthCheckSettings.Kind kind =
        switch (hc.string("type")) {
          case "tcp" -> HealthCheckSettings.Kind.TCP;
          case "http" -> HealthCheckSettings.Kind.HTTP;
          default -> throw hc.error("type", "'" + hc.string("type") + "' is not a health check type (tcp, http)");
        };
    String path = hc.string("path");
    if (!path.startsWith("/")) throw hc.error("path", "must start with '/', got '" + path + "'");
    String body = hc.string("expect-body");
    String method = hc.string("method");
    HealthCheckSettings.methodProblem(method).ifPresent(problem -> {
      throw hc.error("method", problem);
    });
    String host = hc.string("host");
    if (!host.isEmpty()) {
      HealthCheckSettings.hostProblem(host).ifPresent(problem -> {
        throw hc.error("host", problem);
      });
    }
    return new HealthCheckSettings(
            kind,
            path,
            hc.intIn("expect-status", 100, 599),
            body.isEmpty() ? Optional.empty() : Optional.of(body),
            hc.positiveDuration("interval"),
            hc.positiveDuration("timeout"),
            hc.intIn("rise", 1, 100),
            hc.intIn("fall", 1, 100),
            method,
            host.isEmpty() ? Optional.empty() : Optional.of(host),
            checkHeaders(hc.child("headers")));
  }

  private static Map<String, String> checkHeaders(ConfigReader headers) {
    Map<String, String> result = new TreeMap<>();
    for (Map.Entry<String, ConfigValue> field : headers.config().root().entrySet()) {
      String name = field.getKey();
      if (field.getValue().valueType() == ConfigValueType.OBJECT || field.getValue().valueType() == ConfigValueType.LIST) {
        throw headers.error(quoted(name), "must be a string (a header field name with a dot goes in quotes)");
      }
      String value = String.valueOf(field.getValue().unwrapped());
      HealthCheckSettings.headerProblem(name, value).ifPresent(problem -> {
        throw headers.error(quoted(name), problem);
      });
      result.put(name, value);
    }
    return result;
  }

  /** The CIDR lists of a TCP listener's firewall: it sees no paths, so path lists are a mistake worth naming. */
  private static FirewallSettings tcpFirewall(ConfigReader fw) {
    for (String key : List.of("allow-paths", "deny-paths")) {
      if (fw.has(key)) throw fw.error(key, "a TCP listener sees no paths: only allow and deny (CIDRs) apply");
    }
    return HttpSettingsParser.firewall(new ConfigReader(
        fw.config().withFallback(com.typesafe.config.ConfigFactory.parseString("allow-paths = [], deny-paths = []")),
        fw.path()));
  }

  private static List<TcpListenerSettings> tcpListeners(ConfigReader fulcrum, Set<String> pools) {
    ConfigReader listeners = fulcrum.child("listeners").child("tcp");
    ConfigReader defaults = fulcrum.child("tcp");
    List<TcpListenerSettings> result = new ArrayList<>();
    Map<HostPort, String> binds = new TreeMap<>((a, b) -> a.toString().compareTo(b.toString()));
    for (String name : sortedKeys(listeners.config())) {
      checkName(listeners, name);
      ConfigReader l =
          new ConfigReader(
              listeners.config().getConfig(quoted(name)).withFallback(defaults.config()), listeners.full(quoted(name)));
      HostPort bind = l.hostPort("bind", true);
      if (bind.port() != 0 && binds.put(bind, name) != null) {
        throw l.error("bind", bind + " is already used by listener '" + binds.get(bind) + "'");
      }
      String pool = l.string("pool");
      if (!pools.contains(pool)) {
        throw l.error("pool", "unknown pool '" + pool + "' (defined: " + String.join(", ", pools.stream().sorted().toList()) + ")");
      }
      result.add(
          new TcpListenerSettings(
              name,
              bind,
              pool,
              l.positiveDuration("connect-timeout"),
              l.positiveDuration("idle-timeout"),
              l.intIn("connect-attempts", 1, 10),
              tcpEngine(l),
              ConnectionLimit.parse(l, "max-connections"),
              tcpFirewall(l.child("firewall")),
              ProxyProtocolVersion.parse(l, "send-proxy-protocol")));
    }
    return result;
  }

  private static TcpListenerSettings.Engine tcpEngine(ConfigReader listener) {
    return switch (listener.string("engine")) {
      case "nio" -> TcpListenerSettings.Engine.NIO;
      case "streams" -> TcpListenerSettings.Engine.STREAMS;
      default -> throw listener.error("engine", "'" + listener.string("engine") + "' is not a tcp engine (nio, streams)");
    };
  }

  private static DemoSettings demo(ConfigReader demo) {
    List<DemoSettings.Backend> backends = new ArrayList<>();
    List<? extends ConfigValue> list = demo.config().getList("backends");
    for (int i = 0; i < list.size(); i++) {
      if (list.get(i).valueType() != ConfigValueType.OBJECT) {
        throw demo.error("backends[" + i + "]", "must be {name = \"...\", port = N}");
      }
      ConfigReader b = new ConfigReader(((com.typesafe.config.ConfigObject) list.get(i)).toConfig(), demo.full("backends[" + i + "]"));
      backends.add(new DemoSettings.Backend(b.string("name"), b.intIn("port", 0, 65535)));
    }
    return new DemoSettings(demo.string("host"), backends);
  }

  private static void checkName(ConfigReader parent, String name) {
    try {
      checkName(name);
    } catch (IllegalArgumentException e) {
      throw parent.error(quoted(name), e.getMessage());
    }
  }

  private static List<String> sortedKeys(Config config) {
    return config.root().keySet().stream().sorted().toList();
  }

  private static String quoted(String key) {
    return com.typesafe.config.ConfigUtil.joinPath(key);
  }
}
