package dev.fulcrum.http.proxy;

import dev.fulcrum.config.HttpRouteSettings;
import dev.fulcrum.routing.RoutingTables;
import java.util.List;

/**
 * Where a listener finds its current route table: every request reads it once, without a lock, and keeps the
 * {@link Route} it got for the whole exchange; a change swaps in a new compiled table for the requests that follow,
 * never touching open connections or exchanges in flight. One writer: the node's route registry.
 */
public final class RouteTableRef {
  private final String listener;
  private volatile Routes current;
  private volatile long version;

  public RouteTableRef(String listener, Routes initial) {
    this.listener = listener;
    this.current = initial;
  }

  public static RouteTableRef of(String listener, List<HttpRouteSettings> routes, RoutingTables tables) {
    return new RouteTableRef(listener, new Routes(routes, tables));
  }

  public String listener() {
    return listener;
  }

  public Routes get() {
    return current;
  }

  /** The version of the route table's entity the current routes came from (0 when they came from config only). */
  public long version() {
    return version;
  }

  public void set(Routes routes, long version) {
    this.current = routes;
    this.version = version;
  }
}
