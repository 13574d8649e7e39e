package dev.fulcrum.observe;

import dev.fulcrum.http.proxy.ExchangeLog;
import dev.fulcrum.http.proxy.ListenerObserver;
import dev.fulcrum.http.proxy.Route;
import dev.fulcrum.routing.BackendStats;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;
import java.util.LinkedHashMap;
import java.util.Map;
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
    BackendMeters meters = routeMeters.of(log.backend == null ? null : log.backend.stats(),
        log.backend == null ? NONE : log.backend.address().toString());
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

  private void write(ExchangeLog log) {
    long now = System.currentTimeMillis();
    long start = now - TimeUnit.NANOSECONDS.toMillis(Math.max(0, log.ended - log.started));
    String target = cap(log.target);
    long tq = ms(log.headReceived - log.started);
    long tc = log.connected == 0 ? -1 : ms(log.connected - log.attemptStarted);
    long tr = log.responseHead == 0 || log.connected == 0 ? -1 : ms(log.responseHead - log.connected);
    long tt = ms(log.ended - log.started);
    String route = log.route == null ? null : log.route.name();
    String pool = log.route == null ? null : log.route.pool();
    String backend = log.backend == null ? null : log.backend.address().toString();
    int retries = Math.max(0, log.attempts - 1);
    if (accessLog.json()) {
      Map<String, Object> fields = new LinkedHashMap<>();
      fields.put("type", "http");
      fields.put("start", java.time.Instant.ofEpochMilli(start).toString());
      fields.put("client_ip", log.clientIp);
      fields.put("client_port", log.clientPort);
      fields.put("listener", listener);
      fields.put("route", route);
      fields.put("pool", pool);
      fields.put("backend", backend);
      fields.put("method", log.method);
      fields.put("uri", target);
      fields.put("status", log.status);
      fields.put("bytes_in", log.bytesIn);
      fields.put("bytes_out", log.bytesOut);
      fields.put("tq_ms", tq);
      fields.put("tw_ms", -1);
      fields.put("tc_ms", tc);
      fields.put("tr_ms", tr);
      fields.put("tt_ms", tt);
      fields.put("retries", retries);
      fields.put("request_id", log.requestId);
      fields.put("termination", log.termination.label);
      accessLog.json(fields);
    } else {
      // a snapshot of the values; the line is formatted by the writer thread, not on the event loop
      accessLog.text(new HttpLine(start, log.clientIp, log.clientPort, listener, route, pool, backend, log.method, target,
          log.status, log.bytesIn, log.bytesOut, tq, tc, tr, tt, retries, log.requestId, log.termination.label));
    }
  }

  /** One HTTP request's text line, formatted when written. */
  record HttpLine(long start, String clientIp, int clientPort, String listener, String route, String pool,
      String backend, String method, String target, int status, long bytesIn, long bytesOut, long tq, long tc, long tr,
      long tt, int retries, String requestId, String termination) implements AccessLog.Line {
    @Override
    public void appendTo(StringBuilder line) {
      line.append(java.time.Instant.ofEpochMilli(start)).append(' ');
      LogLines.client(line, clientIp, clientPort);
      line.append(' ').append(listener).append(' ');
      LogLines.field(line, route).append(' ');
      LogLines.field(line, pool).append(' ');
      LogLines.field(line, backend).append(" \"");
      line.append(method == null ? "-" : method).append(' ');
      LogLines.quoted(line, target).append("\" ");
      line.append(status).append(' ').append(bytesIn).append(' ').append(bytesOut).append(' ');
      line.append(tq).append("/-1/").append(tc).append('/').append(tr).append('/').append(tt).append(' ');
      line.append(retries).append(' ');
      LogLines.token(line, requestId).append(' ');
      line.append(termination);
    }
  }

  private String cap(String target) {
    int max = accessLog.settings().maxUriLength();
    return target == null || target.length() <= max ? target : target.substring(0, max);
  }

  private static long ms(long nanos) {
    return TimeUnit.NANOSECONDS.toMillis(Math.max(0, nanos));
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

    BackendMeters of(BackendStats stats, String address) {
      if (stats == null) return none;
      BackendMeters meters = backends.get(stats);
      return meters != null ? meters : backends.computeIfAbsent(stats, s -> new BackendMeters(route, pool, address));
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
