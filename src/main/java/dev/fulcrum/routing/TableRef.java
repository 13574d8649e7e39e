package dev.fulcrum.routing;

/** The current routing table of one pool: a single volatile reference, swapped by the router, read by listeners. */
public final class TableRef {
  private volatile RoutingTable current;

  TableRef(String pool) {
    this.current = RoutingTable.empty(pool);
  }

  public RoutingTable current() {
    return current;
  }

  void publish(RoutingTable table) {
    current = table;
  }
}
