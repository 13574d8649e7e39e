package dev.fulcrum.routes;

import dev.fulcrum.CborSerializable;
import dev.fulcrum.config.HttpRouteSettings;
import dev.fulcrum.pool.PoolState.AppliedKey;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.function.UnaryOperator;

/**
 * The state of one listener's route table entity: its routes in table order (none before the table is first set) and
 * its version, the sequence number of the last event applied; {@code recentKeys} are the idempotency keys of the last
 * {@value dev.fulcrum.pool.PoolState#KEPT_KEYS} changes that came with one, as a pool's. {@code origin} is where the
 * change that made this version came from, as its event says ("config", "admin-api 127.0.0.1", "java-api"): the
 * table replicates without its history, and a node that routes by a new version tells its event hub who made it
 * ("" before the first change, and in a state stored before the field was added).
 */
public record RouteTableState(String listener, long version, List<HttpRouteSettings> routes, List<AppliedKey> recentKeys,
    String origin) implements CborSerializable {

  public RouteTableState {
    routes = routes == null ? List.of() : List.copyOf(routes);
    recentKeys = recentKeys == null ? List.of() : List.copyOf(recentKeys);
    origin = origin == null ? "" : origin;
  }

  public static RouteTableState empty(String listener) {
    return new RouteTableState(listener, 0, List.of(), List.of(), "");
  }

  /** Whether the table was ever set (a table is never empty once it exists). */
  public boolean exists() {
    return !routes.isEmpty();
  }

  public Optional<Long> appliedAt(String key) {
    return recentKeys.stream().filter(k -> k.key().equals(key)).map(AppliedKey::version).findFirst();
  }

  public OptionalInt indexOf(String name) {
    for (int i = 0; i < routes.size(); i++) if (routes.get(i).name().equals(name)) return OptionalInt.of(i);
    return OptionalInt.empty();
  }

  public Optional<HttpRouteSettings> route(String name) {
    OptionalInt i = indexOf(name);
    return i.isPresent() ? Optional.of(routes.get(i.getAsInt())) : Optional.empty();
  }

  RouteTableState apply(RouteEvent event) {
    List<HttpRouteSettings> next = applyTo(routes, event);
    List<AppliedKey> keys = recentKeys;
    if (event.idempotencyKey() != null) {
      keys = new ArrayList<>(recentKeys);
      keys.add(new AppliedKey(event.idempotencyKey(), version + 1));
      if (keys.size() > dev.fulcrum.pool.PoolState.KEPT_KEYS) keys.subList(0, keys.size() - dev.fulcrum.pool.PoolState.KEPT_KEYS).clear();
    }
    return new RouteTableState(listener, version + 1, next, keys, event.origin());
  }

  /** The routes after {@code event}: the entity decides a change by validating exactly this list. */
  static List<HttpRouteSettings> applyTo(List<HttpRouteSettings> routes, RouteEvent event) {
    List<HttpRouteSettings> next = new ArrayList<>(routes);
    if (event instanceof RouteEvent.RoutesSet e) return List.copyOf(e.routes());
    if (event instanceof RouteEvent.RouteAdded e) {
      next.add(Math.max(0, Math.min(e.position(), next.size())), e.route());
    } else if (event instanceof RouteEvent.RouteReplaced e) {
      replace(next, e.name(), r -> e.route());
    } else if (event instanceof RouteEvent.RouteRemoved e) {
      next.removeIf(r -> r.name().equals(e.name()));
    } else if (event instanceof RouteEvent.RouteMoved e) {
      int from = indexIn(next, e.name());
      if (from >= 0) next.add(Math.max(0, Math.min(e.position(), next.size() - 1)), next.remove(from));
    } else if (event instanceof RouteEvent.RulesChanged e) {
      replace(next, e.name(), r -> r.withRules(e.requestHeaders(), e.responseHeaders(), e.firewall()));
    } else if (event instanceof RouteEvent.PoolsChanged e) {
      replace(next, e.name(), r -> r.withPools(e.pools()));
    } else {
      throw new IllegalArgumentException("unknown event " + event);
    }
    return next;
  }

  private static void replace(List<HttpRouteSettings> routes, String name, UnaryOperator<HttpRouteSettings> change) {
    int i = indexIn(routes, name);
    if (i >= 0) routes.set(i, change.apply(routes.get(i)));
  }

  private static int indexIn(List<HttpRouteSettings> routes, String name) {
    for (int i = 0; i < routes.size(); i++) if (routes.get(i).name().equals(name)) return i;
    return -1;
  }
}
