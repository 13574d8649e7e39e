package dev.fulcrum.routes;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.fulcrum.CborSerializable;
import dev.fulcrum.config.FirewallSettings;
import dev.fulcrum.config.HttpRouteSettings;
import dev.fulcrum.config.HttpRouteSettings.HeaderRules;
import dev.fulcrum.config.HttpRouteSettings.WeightedPool;
import java.time.Instant;
import java.util.List;

/**
 * What happened to an HTTP listener's route table, in the journal forever, each with when and where from ({@code
 * origin}: "config", "admin-api 127.0.0.1", "java-api", ...) and the idempotency key of its request, if any. Renaming
 * or removing a field breaks recovery of existing journals; add fields only with a default.
 */
public sealed interface RouteEvent extends CborSerializable {
  Instant timestamp();

  String origin();

  String idempotencyKey();

  /** The whole table set at once: its first state (from config or a new listener), or a replacement. */
  record RoutesSet(List<HttpRouteSettings> routes, Instant timestamp, String origin,
      @JsonInclude(JsonInclude.Include.NON_NULL) String idempotencyKey) implements RouteEvent {}

  /** A route inserted at {@code position} (0 = first). */
  record RouteAdded(HttpRouteSettings route, int position, Instant timestamp, String origin,
      @JsonInclude(JsonInclude.Include.NON_NULL) String idempotencyKey) implements RouteEvent {}

  record RouteReplaced(String name, HttpRouteSettings route, Instant timestamp, String origin,
      @JsonInclude(JsonInclude.Include.NON_NULL) String idempotencyKey) implements RouteEvent {}

  record RouteRemoved(String name, Instant timestamp, String origin,
      @JsonInclude(JsonInclude.Include.NON_NULL) String idempotencyKey) implements RouteEvent {}

  record RouteMoved(String name, int position, Instant timestamp, String origin,
      @JsonInclude(JsonInclude.Include.NON_NULL) String idempotencyKey) implements RouteEvent {}

  record RulesChanged(String name, HeaderRules requestHeaders, HeaderRules responseHeaders, FirewallSettings firewall,
      Instant timestamp, String origin, @JsonInclude(JsonInclude.Include.NON_NULL) String idempotencyKey) implements RouteEvent {}

  /** A route's pools or their weights (a canary's step). */
  record PoolsChanged(String name, List<WeightedPool> pools, Instant timestamp, String origin,
      @JsonInclude(JsonInclude.Include.NON_NULL) String idempotencyKey) implements RouteEvent {}

  /** The name used in the admin API's history: {@code RouteAdded} reads {@code route-added}. */
  static String typeName(RouteEvent event) {
    return event.getClass().getSimpleName().replaceAll("([a-z])([A-Z])", "$1-$2").toLowerCase(java.util.Locale.ROOT);
  }
}
