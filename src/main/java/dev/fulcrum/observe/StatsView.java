package dev.fulcrum.observe;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.distribution.CountAtBucket;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;

/**
 * What the admin API's observability calls answer: the Prometheus scrape, the listeners, and per-backend counters for
 * the stats page. Everything is read from the registry and the routers when asked.
 */
public final class StatsView {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final String OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8";
  private static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

  private final ActorSystem<?> system;
  private final Observability observability;
  private final Duration timeout;

  public StatsView(ActorSystem<?> system, Duration timeout) {
    this.system = system;
    this.observability = Observability.get(system);
    this.timeout = timeout;
  }

  /** The content type a scrape answers with for this Accept header: OpenMetrics when asked for, else text 0.0.4. */
  public static String scrapeContentType(String accept) {
    return accept != null && accept.contains("application/openmetrics-text") ? OPENMETRICS : PROMETHEUS_TEXT;
  }

  /** The scrape, with the backend gauges read just before. */
  public CompletionStage<String> scrape(String contentType) {
    // where the entities run is worth a wait of a second, not a failed scrape
    CompletionStage<Void> located = observability.cluster().locateEntities(system, observability.pools(), timeout)
        .exceptionally(failure -> null);
    return backends().thenCombine(located, (rows, done) -> rows).thenApply(rows -> {
      observability.gauges().publish(rows);
      observability.cluster().publish(
          observability.pools() == null ? java.util.Optional.empty() : observability.pools().clusterSystem());
      return observability.registry().scrape(contentType);
    });
  }

  private CompletionStage<List<BackendGauges.Row>> backends() {
    return observability.gauges().read(system, observability.pools(), observability.tables(), timeout);
  }

  /**
   * Adds this node's live counters of one backend to its JSON in {@code GET /api/pools/{pool}}: requests in flight and
   * queued, and since start requests, 5xx answers, retries and failed connects.
   */
  public static void addCounters(ObjectNode backend, ActorSystem<?> system, String pool, dev.fulcrum.config.HostPort address) {
    Observability o = Observability.get(system);
    String at = address.toString();
    dev.fulcrum.routing.BackendStats stats = null;
    if (o.tables() != null) {
      dev.fulcrum.routing.RoutingTable table = o.tables().of(pool).current();
      for (int i = 0; i < table.size(); i++) {
        if (table.get(i).address().equals(address)) stats = table.get(i).stats();
      }
    }
    if (stats == null) stats = o.gauges().seen(pool, address);
    double requests = 0;
    double errors = 0;
    for (Counter c : o.registry().find("fulcrum.http.requests").tags("pool", pool, "backend", at).counters()) {
      requests += c.count();
      if ("5xx".equals(c.getId().getTag("code"))) errors += c.count();
    }
    double retries = o.registry().find("fulcrum.http.retries").tags("pool", pool, "backend", at).counters().stream()
        .mapToDouble(Counter::count).sum();
    double failures = o.registry().find("fulcrum.backend.connect.failures").tags("pool", pool, "backend", at).counters()
        .stream().mapToDouble(Counter::count).sum();
    backend.put("inFlight", stats == null ? 0 : stats.inFlight())
        .put("queued", stats == null ? 0 : stats.queued())
        .put("requests", (long) requests)
        .put("errors", (long) errors)
        .put("retries", (long) retries)
        .put("connectFailures", (long) failures);
  }

  /** {@code GET /api/listeners}. */
  public ArrayNode listeners() {
    ArrayNode array = MAPPER.createArrayNode();
    for (ListenerMeters l : observability.listeners()) {
      array.addObject()
          .put("name", l.name())
          .put("protocol", l.protocol())
          .put("accessLog", observability.settings().accessLogOn(l.name()))
          .put("acceptedConnections", l.accepted())
          .put("openConnections", l.open());
    }
    return array;
  }

  /**
   * {@code GET /api/stats}: listeners, every backend with its live state and cumulative counters (requests, 5xx,
   * connect failures, the duration histogram's buckets, so that the page can compute rates and percentiles over its own
   * refresh interval), and the recent health transitions.
   */
  public CompletionStage<ObjectNode> stats() {
    return backends().thenApply(rows -> {
      Map<String, long[]> requests = new HashMap<>();
      for (Counter c : observability.registry().find("fulcrum.http.requests").counters()) {
        String key = c.getId().getTag("pool") + " " + c.getId().getTag("backend");
        long[] counts = requests.computeIfAbsent(key, k -> new long[2]);
        counts[0] += (long) c.count();
        if ("5xx".equals(c.getId().getTag("code"))) counts[1] += (long) c.count();
      }
      Map<String, double[]> buckets = new HashMap<>();
      for (Timer t : observability.registry().find("fulcrum.http.request.duration").timers()) {
        String key = t.getId().getTag("pool") + " " + t.getId().getTag("backend");
        CountAtBucket[] counts = t.takeSnapshot().histogramCounts();
        double[] sum = buckets.computeIfAbsent(key, k -> new double[counts.length]);
        for (int i = 0; i < counts.length && i < sum.length; i++) sum[i] += counts[i].count();
      }
      Map<String, Double> failures = new HashMap<>();
      for (Counter c : observability.registry().find("fulcrum.backend.connect.failures").counters()) {
        failures.merge(c.getId().getTag("pool") + " " + c.getId().getTag("backend"), c.count(), Double::sum);
      }
      ObjectNode root = MAPPER.createObjectNode();
      root.set("listeners", listeners());
      ArrayNode bounds = root.putArray("bucketsSeconds");
      for (Duration d : Metrics.BUCKETS) bounds.add(d.toNanos() / 1e9);
      ArrayNode backends = root.putArray("backends");
      for (BackendGauges.Row row : rows) {
        String key = row.pool() + " " + row.address();
        long[] counts = requests.getOrDefault(key, new long[2]);
        ObjectNode b = backends.addObject()
            .put("pool", row.pool())
            .put("address", row.address().toString())
            .put("weight", row.weight())
            .put("admin", row.admin())
            .put("health", row.health().name().toLowerCase(java.util.Locale.ROOT))
            .put("activeConnections", row.activeConnections())
            .put("inFlight", row.inFlight())
            .put("queued", row.queued())
            .put("requests", counts[0])
            .put("errors", counts[1])
            .put("connectFailures", failures.getOrDefault(key, 0.0).longValue());
        ArrayNode histogram = b.putArray("durationBuckets");
        for (double v : buckets.getOrDefault(key, new double[0])) histogram.add((long) v);
      }
      ArrayNode transitions = root.putArray("transitions");
      for (Observability.Transition t : observability.recentTransitions()) {
        transitions.addObject().put("at", t.at().toString()).put("pool", t.pool()).put("backend", t.backend())
            .put("from", t.from()).put("to", t.to()).put("reason", t.reason());
      }
      return root;
    });
  }
}
