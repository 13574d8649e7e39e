package dev.fulcrum.observe;

import dev.fulcrum.http.proxy.ExchangeLog;
import dev.fulcrum.http.proxy.ListenerObserver;
import dev.fulcrum.http.proxy.Route;
import dev.fulcrum.routing.BackendStats;
import dev.fulcrum.routing.RoutedBackend;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Counts the requests of one HTTP listener and writes their access-log lines. The meters of a (route, backend) pair
 * are looked up once and cached by the route's key (name and pool, the same across route table changes) and the
 * backend stats' identity (they live as long as the backend),
 * so a request costs a few map reads and adder increments, no allocation for the metrics, no lock, no message.
 */
final class HttpObserver implements ListenerObserver {
  private static final String NONE = "";

  private final Metrics metrics;
  private final String listener;
  private final AccessLog accessLog;
  private final ListenerMeters connections;
  private final Counter received;
  private final Counter sent;
  private final Counter[] terminations;
  private final ConcurrentHashMap<Route.Key, RouteMeters> routes = new ConcurrentHashMap<>();
  private final RouteMeters unrouted;
  private final boolean count;

  HttpObserver(Metrics metrics, String listener, AccessLog accessLog, ListenerMeters connections, boolean count) {
    this.count = count;
    this.metrics = metrics;
    this.listener = listener;
    this.accessLog = accessLog;
    this.connections = connections;
    this.received = metrics.bytes("fulcrum.http.received", "Bytes received from HTTP clients", listener);
    this.sent = metrics.bytes("fulcrum.http.sent", "Bytes sent to HTTP clients", listener);
    ExchangeLog.Termination[] kinds = ExchangeLog.Termination.values();
    terminations = new Counter[kinds.length];
    for (ExchangeLog.Termination t : kinds) {
      terminations[t.ordinal()] = Counter.builder("fulcrum.http.terminations")
          .description("HTTP requests by how they ended")
          .tags("listener", listener, "termination", t.label)
          .register(metrics.registry());
    }
    unrouted = new RouteMeters(NONE, NONE);
  }

  private final ConcurrentHashMap<String, Counter> violations = new ConcurrentHashMap<>();

  @Override
  public void http2Violation(String kind) {
    if (!count) return;
    violations.computeIfAbsent(kind, k -> Counter.builder("fulcrum.http2.violations")
        .description("HTTP/2 protocol violations and defences triggered by clients, by kind")
        .tags("listener", listener, "kind", k)
        .register(metrics.registry())).increment();
  }

  /** By termination, registered on the first refusal: a plain listener never shows one. */
  private final ConcurrentHashMap<String, Counter> refusals = new ConcurrentHashMap<>();

  @Override
  public void tlsRefused() {
    refused("tls-refused");
  }

  @Override
  public void proxyRefused() {
    refused("proxy-refused");
  }

  private void refused(String termination) {
    if (!count) return;
    // the requests' family, with the label values TCP listeners count theirs under: one query finds every refusal
    refusals.computeIfAbsent(termination, t -> Counter.builder("fulcrum.http.terminations")
        .description("HTTP requests by how they ended")
        .tags("listener", listener, "termination", t)
        .register(metrics.registry())).increment();
  }

  @Override
  public void retryBudget(dev.fulcrum.http.proxy.RetryBudget budget) {
    FunctionCounter.builder("fulcrum.http.retry.budget.refusals", budget, dev.fulcrum.http.proxy.RetryBudget::refused)
        .description("Retries the listener's retry budget refused")
        .tags("listener", listener)
        .register(metrics.registry());
  }

  @Override
  public void connectionOpened() {
    if (count) connections.opened();
  }

  @Override
  public void connectionClosed() {
    if (count) connections.closed();
  }

  @Override
  public void ended(ExchangeLog log) {
    if (count) count(log);
    if (accessLog != null) write(log);
  }

  private void count(ExchangeLog log) {
    Route route = log.route;
    RouteMeters routeMeters = route == null ? unrouted : routes.get(route.key());
    if (routeMeters == null) routeMeters = routes.computeIfAbsent(route.key(), k -> new RouteMeters(k.name(), k.pool()));
    BackendMeters meters = log.backend == null ? routeMeters.none : routeMeters.of(log.backend);
    meters.count(log.status);
    if (log.responseHead != 0 && log.backend != null) {
      meters.head().record(log.responseHead - log.attemptStarted, TimeUnit.NANOSECONDS);
    }
    meters.total().record(Math.max(0, log.ended - log.started), TimeUnit.NANOSECONDS);
    if (log.attempts > 1) meters.retries().increment(log.attempts - 1);
    if (log.connectFailures > 0) meters.connectFailures().increment(log.connectFailures);
    received.increment(log.bytesIn);
    sent.increment(log.bytesOut);
    terminations[log.termination.ordinal()].increment();
  }

  /**
   * Fills this thread's access record with the request's values; publishing it makes the line in this thread's ring.
   * Nothing is allocated here, unless a long line grows the thread's line buffer (or the format is JSON).
   */
  private void write(ExchangeLog log) {
    AccessRecord r = accessLog.record();
    r.kind = AccessRecord.HTTP;
    r.total = Math.max(0, log.ended - log.started);
    r.clientIp = log.clientIp;
    r.clientPort = log.clientPort;
    r.listener = listener;
    r.route = log.route == null ? null : log.route.name();
    r.pool = log.route == null ? null : log.route.pool();
    r.backend = log.backend == null ? null : log.backend.address();
    r.method = log.method;
    r.target = log.target;
    r.protocol = log.protocol;
    r.requestId = log.requestId;
    r.status = log.status;
    r.bytesIn = log.bytesIn;
    r.bytesOut = log.bytesOut;
    r.headRead = Math.max(0, log.headReceived - log.started);
    r.queued = queued(log);
    r.connect = log.connected == 0 ? -1
        : Math.max(0, log.connected - (log.connectStarted != 0 ? log.connectStarted : log.attemptStarted));
    r.response = log.responseHead == 0 || log.connected == 0 ? -1 : Math.max(0, log.responseHead - log.connected);
    r.retries = Math.max(0, log.attempts - 1);
    r.termination = log.termination.label;
    accessLog.publish(r);
  }

  /**
   * HAProxy's Tw: how long the last attempt waited for a connection slot (queue and limits), -1 when no attempt was
   * made or the engine does not tell (Pekko HTTP's pool queues inside itself: its wait is in Tc).
   */
  private static long queued(ExchangeLog log) {
    if (log.attemptStarted == 0) return -1;
    if (log.connectStarted != 0) return Math.max(0, log.connectStarted - log.attemptStarted);
    return log.queuedAt != 0 ? Math.max(0, log.ended - log.attemptStarted) : -1;
  }

  /** The meters of one route: per backend, plus those of requests that got no backend. */
  private final class RouteMeters {
    final String route;
    final String pool;
    final ConcurrentHashMap<BackendStats, BackendMeters> backends = new ConcurrentHashMap<>();
    final BackendMeters none;

    RouteMeters(String route, String pool) {
      this.route = route;
      this.pool = pool;
      this.none = new BackendMeters(route, pool, NONE);
    }

    /** The backend's meters; its address is turned into a label only the first time. */
    BackendMeters of(RoutedBackend backend) {
      BackendMeters meters = backends.get(backend.stats());
      return meters != null ? meters
          : backends.computeIfAbsent(backend.stats(), s -> new BackendMeters(route, pool, backend.address().toString()));
    }
  }

  /** The meters of one (route, backend), each registered on first use. */
  private final class BackendMeters {
    final String route;
    final String pool;
    final String backend;
    final Counter[] byClass = new Counter[6];
    private Timer head;
    private Timer total;
    private Counter retries;
    private Counter connectFailures;

    BackendMeters(String route, String pool, String backend) {
      this.route = route;
      this.pool = pool;
      this.backend = backend;
    }

    void count(int status) {
      int c = status >= 100 && status < 600 ? status / 100 : 0;
      Counter counter = byClass[c];
      if (counter == null) {
        // a race registers the same meter twice, which the registry answers with the same instance
        counter = Counter.builder("fulcrum.http.requests")
            .description("HTTP requests by listener, route, pool, backend and status class")
            .tags("listener", listener, "route", route, "pool", pool, "backend", backend,
                "code", c == 0 ? "other" : c + "xx")
            .register(metrics.registry());
        byClass[c] = counter;
      }
      counter.increment();
    }

    Timer head() {
      Timer t = head;
      if (t == null) {
        head = t = metrics.timer("fulcrum.http.response.head.duration",
            "From the start of an attempt on a backend to its response head", pool, backend);
      }
      return t;
    }

    Timer total() {
      Timer t = total;
      if (t == null) {
        total = t = metrics.timer("fulcrum.http.request.duration",
            "From the request head's first byte to the response's last", pool, backend);
      }
      return t;
    }

    Counter retries() {
      Counter c = retries;
      if (c == null) {
        retries = c = Counter.builder("fulcrum.http.retries").description("Attempts after the first")
            .tags("listener", listener, "pool", pool, "backend", backend).register(metrics.registry());
      }
      return c;
    }

    Counter connectFailures() {
      Counter c = connectFailures;
      if (c == null) {
        connectFailures = c = metrics.connectFailures(pool, backend);
      }
      return c;
    }
  }
}
