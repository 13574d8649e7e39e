package dev.fulcrum.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import dev.fulcrum.routing.StrategyKind;
import java.time.Duration;
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
    DnsSettings dns = dns(fulcrum.child("dns"));
    List<DiscoverySettings> discovery = new ArrayList<>();
    List<PoolSettings> pools = withBackendConnections(fulcrum, pools(fulcrum, dns, discovery));
    Set<String> poolNames = new HashSet<>();
    pools.forEach(p -> poolNames.add(p.name()));
    List<TcpListenerSettings> tcp = tcpListeners(fulcrum, poolNames);
    ConfigReader balancing = fulcrum.child("balancing");
    Map<String, BackendTlsSettings> backendTls = new TreeMap<>();
    pools.forEach(p -> p.tls().ifPresent(tls -> backendTls.put(p.name(), tls)));
    checkStreamsReencryption(tcp, backendTls);
    Map<String, BackendProtocol> protocols = new TreeMap<>();
    pools.forEach(p -> protocols.put(p.name(), p.protocol()));
    HttpSettings http = HttpSettingsParser.parse(fulcrum, poolNames);
    checkHttp2Backends(http, protocols);
    return new FulcrumSettings(
        pools,
        tcp,
        demo(fulcrum.child("demo")),
        fulcrum.child("shutdown").positiveDuration("drain-timeout"),
        fulcrum.intIn("event-loops", 0, 1024),
        StrategySettingsParser.parse(balancing, balancing),
        http,
        dns,
        discovery);
  }

  /**
   * Pekko HTTP's client pools speak HTTP/1.1 only: a pekko listener routing to an HTTP/2 pool is refused. So is a
   * PROXY header to an HTTP/2 pool: its connections carry many clients' requests, and a header names one client.
   */
  private static void checkHttp2Backends(HttpSettings http, Map<String, BackendProtocol> protocols) {
    for (HttpListenerSettings l : http.listeners()) {
      for (HttpRouteSettings route : l.routes()) {
        for (HttpRouteSettings.WeightedPool wp : route.pools()) {
          BackendProtocol p = protocols.get(wp.pool());
          if (p != null && p.http2() && route.upstream().sendProxyProtocol() != ProxyProtocolVersion.OFF) {
            throw new SettingsException("fulcrum.pools." + quoted(wp.pool()) + ".protocol: " + p.kind().label
                + " connections carry many clients' requests and cannot begin with a PROXY header naming one "
                + "(send-proxy-protocol is set for the pool's HTTP routes)");
          }
          if (p != null && p.http2() && l.engine() == HttpListenerSettings.Engine.PEKKO) {
            throw new SettingsException("fulcrum.pools." + quoted(wp.pool()) + ".protocol: " + p.kind().label
                + " needs engine = nio on every listener routing to the pool (listener " + l.name()
                + " has engine = pekko, whose client pools speak HTTP/1.1 only)");
          }
        }
      }
    }
  }

  /** The streams engine sends a PROXY header inside the TLS it would open to a pool's backends: refused. */
  private static void checkStreamsReencryption(List<TcpListenerSettings> listeners, Map<String, BackendTlsSettings> tls) {
    for (TcpListenerSettings l : listeners) {
      if (l.engine() == TcpListenerSettings.Engine.STREAMS && tls.containsKey(l.pool())
          && l.sendProxyProtocol() != ProxyProtocolVersion.OFF) {
        throw new SettingsException("fulcrum.listeners.tcp." + quoted(l.name()) + ".send-proxy-protocol: needs engine = nio "
            + "with a pool that has TLS to its backends (the header must precede the handshake)");
      }
    }
  }

  /**
   * Each pool with its TLS to its backends ({@code fulcrum.pools.<pool>.tls}) and the protocol spoken on those
   * connections ({@code protocol}, {@code max-concurrent-streams}), parts of its journaled definition.
   */
  private static List<PoolSettings> withBackendConnections(ConfigReader fulcrum, List<PoolSettings> pools) {
    ConfigReader all = fulcrum.child("pools");
    return pools.stream().map(p -> {
      ConfigReader pool = all.child(quoted(p.name()));
      PoolSettings withTls = p.withTls(BackendTlsSettingsParser.parse(pool));
      return withTls.withProtocol(BackendProtocol.parse(pool, withTls.tls().isPresent()));
    }).toList();
  }

  /** Validates a pool or listener name: it appears in actor names and admin URLs. */
  public static String checkName(String name) {
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "'" + name + "' is not a valid name (letters, digits, '-' and '_', at most 63, starting with a letter or digit)");
    }
    return name;
  }

  private static List<PoolSettings> pools(ConfigReader fulcrum, DnsSettings dns, List<DiscoverySettings> discovery) {
    ConfigReader pools = fulcrum.child("pools");
    List<PoolSettings> result = new ArrayList<>();
    for (String name : sortedKeys(pools.config())) {
      ConfigReader pool = pools.child(quoted(name));
      checkName(pools, name);
      String mode = pool.has("discovery") ? pool.string("discovery") : "static";
      if (!mode.equals("static") && !mode.equals("dns")) {
        throw pool.error("discovery", "'" + mode + "' is not a discovery mode (static, dns)");
      }
      List<DiscoverySettings.DnsName> names = mode.equals("dns") ? new ArrayList<>() : null;
      result.add(pool(pool, name, fulcrum.child("health-check"), fulcrum.child("balancing"), names));
      if (names == null) {
        if (pool.has("dns")) throw pool.error("dns", "applies only with discovery = dns");
        continue;
      }
      if (names.isEmpty()) {
        throw pool.error("backends", "with discovery = dns, at least one backend must be a host name to follow "
            + "(\"web.internal:8080\") or a service (\"_http._tcp.web.internal\")");
      }
      DnsSettings own = dns;
      if (pool.has("dns")) {
        ConfigReader d = pool.child("dns");
        for (String key : sortedKeys(d.config())) {
          if (!key.equals("min-ttl") && !key.equals("max-ttl")) {
            throw d.error(quoted(key), "is not a per-pool DNS setting (min-ttl, max-ttl; the rest is fulcrum.dns)");
          }
        }
        ConfigReader bounds = new ConfigReader(d.config().withFallback(fulcrum.child("dns").config()), d.path());
        own = ttlBounds(bounds, dns);
      }
      discovery.add(new DiscoverySettings(name, names, own));
    }
    return result;
  }

  private static DnsSettings dns(ConfigReader dns) {
    List<HostPort> servers = new ArrayList<>();
    List<String> listed;
    try {
      listed = dns.config().getStringList("servers");
    } catch (com.typesafe.config.ConfigException e) {
      throw dns.error("servers", "must be a list of \"address\" or \"address:port\" (IP addresses)");
    }
    for (int i = 0; i < listed.size(); i++) {
      String text = listed.get(i).trim();
      boolean hasPort = text.startsWith("[") ? text.contains("]:") : text.chars().filter(c -> c == ':').count() == 1;
      HostPort server = dns.hostPort("servers[" + i + "]", hasPort ? text : (text.contains(":") && !text.startsWith("[") ? "[" + text + "]" : text) + ":53", false);
      if (!server.isIpLiteral()) throw dns.error("servers[" + i + "]", "'" + text + "' is not an IP address: a DNS server is given by address");
      servers.add(server);
    }
    Duration timeout = dns.positiveDuration("timeout");
    if (timeout.compareTo(Duration.ofSeconds(60)) > 0) throw dns.error("timeout", "must be at most 60s, got " + timeout);
    return ttlBounds(dns, new DnsSettings(servers, timeout, Duration.ofSeconds(1), Duration.ofSeconds(1)));
  }

  /** min-ttl and max-ttl from {@code d}: whole seconds as DNS TTLs are, 1s-1d, min-ttl <= max-ttl. */
  private static DnsSettings ttlBounds(ConfigReader d, DnsSettings base) {
    Duration min = d.positiveDuration("min-ttl");
    Duration max = d.positiveDuration("max-ttl");
    for (String key : List.of("min-ttl", "max-ttl")) {
      Duration value = key.equals("min-ttl") ? min : max;
      if (value.compareTo(Duration.ofSeconds(1)) < 0 || value.compareTo(DnsSettings.LONGEST_TTL) > 0) {
        throw d.error(key, "must be within 1s-1d (DNS TTLs are whole seconds), got " + value);
      }
    }
    if (max.compareTo(min) < 0) {
      throw d.error("max-ttl", "must be at least min-ttl (" + min + "), got " + max);
    }
    return base.withTtlBounds(min, max);
  }

  private static PoolSettings pool(
      ConfigReader pool, String name, ConfigReader defaultHealth, ConfigReader defaultBalancing, List<DiscoverySettings.DnsName> names) {
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
        name, strategy, backends(pool, names), healthCheck(health), StrategySettingsParser.parse(pool, defaultBalancing));
  }

  /**
   * The pool's backends. With {@code names} (discovery = dns), a host name or a service name is not a backend but a
   * name to follow: it goes to {@code names}, and only IP addresses are backends from the start.
   */
  private static List<BackendSettings> backends(ConfigReader pool, List<DiscoverySettings.DnsName> names) {
    if (!pool.has("backends")) throw pool.error("backends", "is missing (a list of \"host:port\")");
    ConfigValue value = pool.config().getValue("backends");
    List<BackendSettings> result = new ArrayList<>();
    Set<HostPort> seen = new HashSet<>();
    if (value.valueType() == ConfigValueType.STRING) {
      String text = ((String) value.unwrapped()).trim();
      String[] parts = text.isEmpty() ? new String[0] : text.split("\\s*,\\s*");
      for (int i = 0; i < parts.length; i++) {
        entry(pool, "backends", "backends", parts[i], 1, result, seen, names);
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
        entry(pool, key, "backends", (String) item.unwrapped(), 1, result, seen, names);
      } else if (item.valueType() == ConfigValueType.OBJECT) {
        Config object = ((com.typesafe.config.ConfigObject) item).toConfig();
        ConfigReader backend = new ConfigReader(object, pool.full(key));
        int weight = backend.has("weight") ? backend.intIn("weight", 0, BackendSettings.MAX_WEIGHT) : 1;
        if (names == null) {
          add(pool, key, result, seen, new BackendSettings(backend.hostPort("address", false), weight));
        } else {
          entry(backend, "address", "address", backend.string("address"), weight, result, seen, names);
        }
      } else {
        throw pool.error(key, "must be \"host:port\" or {address = \"host:port\", weight = N}");
      }
    }
    return result;
  }

  /** {@code key} names the entry (duplicates), {@code addressKey} where a malformed address is reported. */
  private static void entry(
      ConfigReader pool, String key, String addressKey, String text, int weight, List<BackendSettings> into, Set<HostPort> seen,
      List<DiscoverySettings.DnsName> names) {
    String trimmed = text.trim();
    if (names != null && trimmed.startsWith("_")) {
      serviceProblem(trimmed).ifPresent(problem -> {
        throw pool.error(addressKey, problem);
      });
      DiscoverySettings.DnsName name = new DiscoverySettings.DnsName(trimmed.toLowerCase(java.util.Locale.ROOT), 0, true, weight);
      if (names.stream().anyMatch(n -> n.source().equals(name.source()))) throw pool.error(key, "duplicate name " + name.source());
      names.add(name);
      return;
    }
    HostPort address = pool.hostPort(addressKey, trimmed, false);
    if (names == null || address.isIpLiteral()) {
      add(pool, key, into, seen, new BackendSettings(address, weight));
      return;
    }
    DiscoverySettings.DnsName name =
        new DiscoverySettings.DnsName(address.host().toLowerCase(java.util.Locale.ROOT), address.port(), false, weight);
    if (names.stream().anyMatch(n -> n.source().equals(name.source()))) throw pool.error(key, "duplicate name " + name.source());
    names.add(name);
  }

  /** Why {@code name} is not a service name as SRV records are asked for ({@code _service._proto.domain}), if not. */
  private static Optional<String> serviceProblem(String name) {
    if (name.contains(":")) return Optional.of("'" + name + "': a service name takes no port (its SRV records give it)");
    String[] labels = name.split("\\.", -1);
    if (labels.length < 3 || !labels[1].startsWith("_") || labels[0].length() < 2 || labels[1].length() < 2) {
      return Optional.of("'" + name + "' is not a service name (_service._proto.domain, e.g. _http._tcp.web.internal)");
    }
    String domain = name.substring(labels[0].length() + labels[1].length() + 2);
    if (!labels[0].substring(1).matches("[A-Za-z0-9-]+") || !labels[1].substring(1).matches("[A-Za-z0-9-]+")) {
      return Optional.of("'" + name + "': the service and protocol labels may hold only letters, digits and '-' after their '_'");
    }
    return HostPort.hostProblem(domain).map(problem -> "'" + name + "': " + problem);
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
          case "grpc" -> HealthCheckSettings.Kind.GRPC;
          default -> throw hc.error("type", "'" + hc.string("type") + "' is not a health check type (tcp, http, grpc)");
        };
    String path = hc.string("path");
    HealthCheckSettings.pathProblem(path).ifPresent(problem -> {
      throw hc.error("path", problem);
    });
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
    String service = hc.has("service") ? hc.string("service") : "";
    HealthCheckSettings.serviceProblem(kind, service).ifPresent(problem -> {
      throw hc.error("service", problem);
    });
    return new HealthCheckSettings(
            kind,
            path,
            hc.intIn("expect-status", 100, 599),
            body.isEmpty() ? Optional.empty() : Optional.of(body),
            checkInterval(hc, "interval"),
            checkInterval(hc, "timeout"),
            hc.intIn("rise", 1, 100),
            hc.intIn("fall", 1, 100),
            method,
            host.isEmpty() ? Optional.empty() : Optional.of(host),
            checkHeaders(hc.child("headers")),
            service,
            optionalInterval(hc, "down-interval"),
            optionalInterval(hc, "fast-interval"));
  }

  /** Empty (or absent, as in configs and API bodies from before the key existed): the check's {@code interval}. */
  private static Optional<Duration> optionalInterval(ConfigReader hc, String key) {
    if (!hc.has(key) || hc.string(key).isBlank()) return Optional.empty();
    return Optional.of(checkInterval(hc, key));
  }

  /** A check's longest interval or timeout: a typo such as 999999999d would stop the checks without a word. */
  private static final Duration MAX_CHECK_INTERVAL = Duration.ofDays(1);

  private static Duration checkInterval(ConfigReader hc, String key) {
    Duration value = hc.positiveDuration(key);
    if (value.compareTo(MAX_CHECK_INTERVAL) > 0) throw hc.error(key, "must be at most 1d, got " + value);
    return value;
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
      TcpListenerSettings added = tcpListener(l, name, pools);
      if (added.bind().port() != 0 && binds.put(added.bind(), name) != null) {
        throw l.error("bind", added.bind() + " is already used by listener '" + binds.get(added.bind()) + "'");
      }
      result.add(added);
    }
    return result;
  }

  private static TcpListenerSettings tcpListener(ConfigReader l, String name, Set<String> pools) {
    HostPort bind = l.hostPort("bind", true);
    String pool = l.string("pool");
    if (!pools.contains(pool)) {
      throw l.error("pool", "unknown pool '" + pool + "' (defined: " + String.join(", ", pools.stream().sorted().toList()) + ")");
    }
    return new TcpListenerSettings(
        name,
        bind,
        pool,
        l.positiveDuration("connect-timeout"),
        l.positiveDuration("idle-timeout"),
        l.intIn("connect-attempts", 1, 10),
        tcpEngine(l),
        ConnectionLimit.parse(l, "max-connections"),
        tcpFirewall(l.child("firewall")),
        ProxyProtocolVersion.parse(l, "send-proxy-protocol"),
        TlsSettingsParser.parse(l),
        tcpProxyProtocolFrom(l));
  }

  /** The fields a TCP listener may have: those of {@code fulcrum.tcp} and its own. */
  static final Set<String> TCP_LISTENER_FIELDS = HttpSettingsParser.listenerFields("tcp", Set.of(),
      Set.of("bind", "pool", "tls", "proxy-protocol"));

  /**
   * A TCP listener added at runtime: {@code body} (HOCON or JSON) holds what {@code fulcrum.listeners.tcp.<name>}
   * would, over the node's {@code fulcrum.tcp} defaults, with the config's checks and texts (paths start with
   * {@code <name>.}).
   */
  public static TcpListenerSettings parseTcpListener(Config root, String name, Config body, Set<String> pools) {
    ConfigReader defaults = new ConfigReader(root, "").child("fulcrum").child("tcp");
    try {
      checkName(name);
    } catch (IllegalArgumentException e) {
      throw new SettingsException("name: " + e.getMessage());
    }
    new ConfigReader(body, quoted(name)).onlyKnown(body, TCP_LISTENER_FIELDS, "a tcp listener");
    return tcpListener(new ConfigReader(body.withFallback(defaults.config()), quoted(name)), name, pools);
  }

  /** Who may send a PROXY header first; read by the nio engine only (the streams engine would pick before it). */
  private static List<Cidr> tcpProxyProtocolFrom(ConfigReader listener) {
    if (!listener.has("proxy-protocol.trusted")) return List.of();
    List<Cidr> trusted = HttpSettingsParser.cidrs(listener.child("proxy-protocol"), "trusted");
    if (!trusted.isEmpty() && tcpEngine(listener) == TcpListenerSettings.Engine.STREAMS) {
      throw listener.error("proxy-protocol.trusted", "needs engine = nio (the streams engine cannot read a PROXY header)");
    }
    return trusted;
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
