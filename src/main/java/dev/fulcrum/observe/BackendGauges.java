package dev.fulcrum.observe;

import dev.fulcrum.backend.Health;
import dev.fulcrum.config.BackendSettings;
import dev.fulcrum.config.HostPort;
import dev.fulcrum.pool.LocalPools;
import dev.fulcrum.pool.PoolControl;
import dev.fulcrum.pool.PoolState;
import dev.fulcrum.routing.BackendStats;
import dev.fulcrum.routing.PoolRouter;
import dev.fulcrum.routing.PoolStatus;
import dev.fulcrum.routing.RoutingTable;
import dev.fulcrum.routing.RoutingTables;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;

/**
 * The per-backend gauges (up, weight, admin state, connections, requests in flight, queued), read from the pools'
 * routers and the backends' live stats when a scrape or the JSON API asks: nothing is kept per request, and backends
 * that go away leave the output with their rows.
 */
final class BackendGauges {
  /** One backend as this node sees it now. */
  record Row(String pool, HostPort address, int weight, String admin, Health health, int activeConnections,
      int inFlight, int queued) {}

  private static final String[] ADMIN_STATES = {"active", "draining", "drained"};

  private final MultiGauge up;
  private final MultiGauge ejected;
  private final MultiGauge weight;
  private final MultiGauge admin;
  private final MultiGauge active;
  private final MultiGauge inFlight;
  private final MultiGauge queued;
  /**
   * Stats objects of backends seen in a routing table, kept while the backend is in its pool: a backend that left the
   * table (down, draining) still has requests finishing, and its router keeps the same stats object.
   */
  private final Map<String, BackendStats> seen = new ConcurrentHashMap<>();

  BackendGauges(MeterRegistry registry) {
    up = MultiGauge.builder("fulcrum.backend.up")
        .description("1 when the backend is up or not checked yet on this node, 0 when down").register(registry);
    ejected = MultiGauge.builder("fulcrum.backend.ejected")
        .description("1 while the outlier detector keeps the backend out of this node's routing").register(registry);
    weight = MultiGauge.builder("fulcrum.backend.weight").description("The backend's configured weight").register(registry);
    admin = MultiGauge.builder("fulcrum.backend.admin.state")
        .description("1 for the backend's admin state (active, draining, drained)").register(registry);
    active = MultiGauge.builder("fulcrum.backend.active.connections")
        .description("Open L4 connections to the backend from this node").register(registry);
    inFlight = MultiGauge.builder("fulcrum.backend.in.flight.requests")
        .description("L7 requests to the backend in flight from this node").register(registry);
    queued = MultiGauge.builder("fulcrum.backend.queued.requests")
        .description("L7 requests of this node waiting for a connection to the backend").register(registry);
  }

  /** Reads every pool's backends on this node: their states, their routers' health and their live counters. */
  CompletionStage<List<Row>> read(ActorSystem<?> system, PoolControl pools, RoutingTables tables, Duration timeout) {
    if (pools == null) return CompletableFuture.completedFuture(List.of());
    return AskPattern.<LocalPools.Command, LocalPools.Pools>ask(
            pools.localPools(), LocalPools.GetPools::new, timeout, system.scheduler())
        .thenCompose(known -> {
          List<CompletableFuture<List<Row>>> perPool = new ArrayList<>();
          for (PoolState state : known.existing()) {
            ActorRef<PoolRouter.Command> router = known.routers().get(state.name());
            if (router == null) continue;
            perPool.add(AskPattern.<PoolRouter.Command, PoolStatus>ask(
                    router, PoolRouter.GetStatus::new, timeout, system.scheduler())
                .thenApply(status -> rows(state, status, tables.of(state.name()).current()))
                .toCompletableFuture());
          }
          return CompletableFuture.allOf(perPool.toArray(CompletableFuture[]::new)).thenApply(all -> {
            List<Row> rows = new ArrayList<>();
            perPool.forEach(p -> rows.addAll(p.join()));
            return rows;
          });
        });
  }

  private List<Row> rows(PoolState state, PoolStatus status, RoutingTable table) {
    Map<HostPort, BackendSettings> settings = new HashMap<>();
    if (state.exists()) state.pool().backends().forEach(b -> settings.put(b.address(), b));
    for (int i = 0; i < table.size(); i++) {
      seen.put(key(state.name(), table.get(i).address()), table.get(i).stats());
    }
    List<Row> rows = new ArrayList<>();
    for (PoolStatus.Backend backend : status.backends()) {
      BackendSettings configured = settings.get(backend.address());
      BackendStats stats = seen.get(key(state.name(), backend.address()));
      int inFlight = stats == null ? 0 : stats.inFlight();
      // as the admin API says it: a draining backend with nothing left open is drained
      String adminState = configured == null || configured.admin() == BackendSettings.Admin.ACTIVE ? "active"
          : backend.activeConnections() == 0 && inFlight == 0 ? "drained" : "draining";
      rows.add(new Row(state.name(), backend.address(), backend.weight(), adminState, backend.health(),
          backend.activeConnections(), inFlight, stats == null ? 0 : stats.queued()));
    }
    seen.keySet().removeIf(k -> k.startsWith(state.name() + " ")
        && status.backends().stream().noneMatch(b -> k.equals(key(state.name(), b.address()))));
    return rows;
  }

  /** The stats of a backend seen in its pool's table before, or null. */
  BackendStats seen(String pool, HostPort address) {
    return seen.get(key(pool, address));
  }

  private static String key(String pool, HostPort address) {
    return pool + " " + address;
  }

  /** Replaces the gauges' rows with these (rows of backends that are gone disappear from the output). */
  void publish(List<Row> rows) {
    List<MultiGauge.Row<?>> ups = new ArrayList<>();
    List<MultiGauge.Row<?>> ejections = new ArrayList<>();
    List<MultiGauge.Row<?>> weights = new ArrayList<>();
    List<MultiGauge.Row<?>> admins = new ArrayList<>();
    List<MultiGauge.Row<?>> actives = new ArrayList<>();
    List<MultiGauge.Row<?>> inFlights = new ArrayList<>();
    List<MultiGauge.Row<?>> queues = new ArrayList<>();
    for (Row row : rows) {
      Tags tags = Tags.of("pool", row.pool(), "backend", row.address().toString());
      ups.add(MultiGauge.Row.of(tags, row.health() == Health.DOWN ? 0 : 1));
      ejections.add(MultiGauge.Row.of(tags, row.health() == Health.EJECTED ? 1 : 0));
      weights.add(MultiGauge.Row.of(tags, row.weight()));
      for (String name : ADMIN_STATES) {
        admins.add(MultiGauge.Row.of(tags.and("state", name), name.equals(row.admin()) ? 1 : 0));
      }
      actives.add(MultiGauge.Row.of(tags, row.activeConnections()));
      inFlights.add(MultiGauge.Row.of(tags, row.inFlight()));
      queues.add(MultiGauge.Row.of(tags, row.queued()));
    }
    up.register(ups, true);
    ejected.register(ejections, true);
    weight.register(weights, true);
    admin.register(admins, true);
    active.register(actives, true);
    inFlight.register(inFlights, true);
    queued.register(queues, true);
  }
}
