package dev.fulcrum.observe;

import com.typesafe.config.Config;
import dev.fulcrum.config.HostPort;
import dev.fulcrum.config.HttpListenerSettings;
import dev.fulcrum.config.ObservabilitySettings;
import dev.fulcrum.config.TcpListenerSettings;
import dev.fulcrum.http.proxy.ListenerObserver;
import dev.fulcrum.pool.PoolControl;
import dev.fulcrum.routing.RoutingTables;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;

/**
 * A node's metrics registry, access log and recent health transitions, one per actor system: listeners, routers and
 * the admin API find it with {@link #get}. Its settings are parsed from the node's config when first used; start-up
 * validates them before anything starts ({@link ObservabilitySettings#parse}, {@link ObservabilitySettings#checkWritable}).
 */
public final class Observability implements Extension {
  private static final ExtensionId<Observability> ID = new ExtensionId<>() {
    @Override
    public Observability createExtension(ActorSystem<?> system) {
      return new Observability(system);
    }
  };

  /** Health transitions kept for the stats page. */
  private static final int RECENT = 50;

  private final ObservabilitySettings settings;
  private final Metrics metrics = new Metrics();
  /** Opened when the first listener that logs starts, so that a node (or a test's router) without one opens no file. */
  private AccessLog accessLog;
  private final Map<String, ListenerMeters> listeners = new ConcurrentHashMap<>();
  /** Listeners removed at runtime: their meters stay (a listener added again counts on), they are no longer listed. */
  private final java.util.Set<String> removed = ConcurrentHashMap.newKeySet();
  private final ArrayDeque<Transition> transitions = new ArrayDeque<>();
  private final BackendGauges gauges;
  private final ClusterGauges cluster;
  private final JournalMeter journal;
  private volatile PoolControl pools;
  private volatile RoutingTables tables;

  /** A backend's health changed on this node. */
  public record Transition(Instant at, String pool, String backend, String from, String to, String reason) {}

  private Observability(ActorSystem<?> system) {
    Config config = system.settings().config();
    this.settings = ObservabilitySettings.parse(config);
    this.gauges = new BackendGauges(metrics.registry());
    this.cluster = new ClusterGauges(metrics.registry());
    this.journal = new JournalMeter(metrics.registry());
    system.getWhenTerminated().thenRun(this::close);
  }

  /**
   * Before a node starts: fails (naming the path) when the access log's directory cannot be written, and switches the
   * application log to JSON lines when asked, so that start-up's own lines are JSON too.
   */
  public static void prepare(ObservabilitySettings settings) {
    settings.checkWritable();
    if (settings.applicationJson()) JsonApplicationLog.install();
  }

  public static Observability get(ActorSystem<?> system) {
    return ID.apply(system);
  }

  /** A pool's DNS name failed to resolve (its backends are kept); counted per pool and name. Rare: no hot path. */
  public void dnsResolutionFailed(String pool, String name) {
    Counter.builder("fulcrum.dns.resolution.failures")
        .description("failed resolutions of a pool's DNS names (the last good backends are kept)")
        .tag("pool", pool)
        .tag("name", name)
        .register(metrics.registry())
        .increment();
  }

  /** Gives the scrape its view of the pools; called once the pools have started. */
  public void attach(PoolControl pools, RoutingTables tables) {
    this.pools = pools;
    this.tables = tables;
  }

  PoolControl pools() {
    return pools;
  }

  RoutingTables tables() {
    return tables;
  }

  public ObservabilitySettings settings() {
    return settings;
  }

  public PrometheusMeterRegistry registry() {
    return metrics.registry();
  }

  ClusterGauges cluster() {
    return cluster;
  }

  BackendGauges gauges() {
    return gauges;
  }

  /** The node's access log for this listener, opened on first use; null when the listener logs nothing. */
  private synchronized AccessLog accessLogFor(String listener) {
    if (!settings.accessLogOn(listener)) return null;
    if (accessLog == null) {
      accessLog = new AccessLog(settings.accessLog());
      FunctionCounter.builder("fulcrum.access.log.dropped", accessLog, AccessLog::dropped)
          .description("Access-log lines dropped because the writer fell behind")
          .register(metrics.registry());
      FunctionCounter.builder("fulcrum.access.log.lines", accessLog, AccessLog::lines)
          .description("Access-log lines queued for writing")
          .register(metrics.registry());
    }
    return accessLog;
  }

  /** The observer an HTTP listener reports to. */
  public ListenerObserver http(HttpListenerSettings listener) {
    AccessLog log = accessLogFor(listener.name());
    // nothing to count and nothing to log: the engine's calls then cost a field write each
    if (!settings.requestMetrics() && log == null) return ListenerObserver.NONE;
    removed.remove(listener.name());
    ListenerMeters meters = listeners.computeIfAbsent(
        listener.name(), name -> new ListenerMeters(metrics.registry(), name, "http"));
    return new HttpObserver(metrics, listener.name(), log, meters, settings.requestMetrics());
  }

  /** The observer a TCP listener reports to. */
  public TcpObserver tcp(TcpListenerSettings listener) {
    removed.remove(listener.name());
    ListenerMeters meters = listeners.computeIfAbsent(
        listener.name(), name -> new ListenerMeters(metrics.registry(), name, "tcp"));
    return new TcpObserver(metrics, listener.name(), listener.pool(),
        accessLogFor(listener.name()), meters, settings.requestMetrics());
  }

  /** Listeners by name with their connection counts. */
  public List<ListenerMeters> listeners() {
    return listeners.values().stream().filter(l -> !removed.contains(l.name()))
        .sorted(java.util.Comparator.comparing(ListenerMeters::name)).toList();
  }

  /** A listener was removed at runtime: {@code GET /api/listeners} and the stats page no longer list it. */
  public void listenerRemoved(String name) {
    removed.add(name);
  }

  /** Counts and remembers a backend's health transition; called by its pool's router (rarely: no hot path). */
  public void healthTransition(String pool, HostPort backend, String from, String to, String reason) {
    Counter.builder("fulcrum.backend.health.transitions")
        .description("Health transitions of a backend on this node, by the state it went to")
        .tags("pool", pool, "backend", backend.toString(), "to", to)
        .register(metrics.registry())
        .increment();
    synchronized (transitions) {
      if (transitions.size() == RECENT) transitions.removeFirst();
      transitions.addLast(new Transition(Instant.now(), pool, backend.toString(), from, to, reason));
    }
  }

  /** The counters of one backend's active health checks on this node, by result; looked up once per backend. */
  public HealthChecks healthChecks(String pool, HostPort backend) {
    return new HealthChecks(metrics.registry(), pool, backend.toString());
  }

  /** Counts a backend's outlier ejection by the kind of streak that caused it; {@code done} false when the pool's
   * max-ejection-percent (or its last routed backend) kept it in. Called by the pool's router. */
  public void ejection(String pool, HostPort backend, String reason, boolean done) {
    Counter.builder(done ? "fulcrum.backend.ejections" : "fulcrum.backend.ejections.refused")
        .description(done ? "Outlier ejections of a backend on this node, by the streak that caused them"
            : "Outlier ejections not made because max-ejection-percent (or the last routed backend) kept the backend in")
        .tags("pool", pool, "backend", backend.toString(), "reason", ejectionReason(reason))
        .register(metrics.registry())
        .increment();
  }

  /** The kind of an outlier detector's reason ("5 consecutive 5xx responses, last 500"), as a label. */
  static String ejectionReason(String reason) {
    if (reason.contains("5xx")) return "consecutive_5xx";
    if (reason.contains("gateway")) return "consecutive_gateway_errors";
    if (reason.contains("local-origin")) return "consecutive_local_failures";
    return "other";
  }

  /** What the pools' entities on this node write to the journal, and what it refused. */
  public JournalMeter journal() {
    return journal;
  }

  /** The most recent health transitions, oldest first. */
  public List<Transition> recentTransitions() {
    synchronized (transitions) {
      return new ArrayList<>(transitions);
    }
  }

  private synchronized void close() {
    if (accessLog != null) accessLog.stop();
    metrics.close();
  }
}
