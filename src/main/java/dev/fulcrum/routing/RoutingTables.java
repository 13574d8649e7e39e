package dev.fulcrum.routing;

import java.util.concurrent.ConcurrentHashMap;

/** Where listeners find the table of a pool by name; a pool not yet defined reads as an empty table. */
public final class RoutingTables {
  private final ConcurrentHashMap<String, TableRef> tables = new ConcurrentHashMap<>();

  public TableRef of(String pool) {
    return tables.computeIfAbsent(pool, TableRef::new);
  }
}
