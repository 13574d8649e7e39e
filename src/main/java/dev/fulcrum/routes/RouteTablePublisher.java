package dev.fulcrum.routes;

/** Where a route table's entity announces each new state; receivers ignore a version not newer than theirs. */
@FunctionalInterface
public interface RouteTablePublisher {
  void publish(RouteTableState state);
}
