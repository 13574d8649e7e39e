package dev.fulcrum.routes;

import java.net.InetSocketAddress;

/**
 * What this node tells about its runtime state besides pools: a route table it now routes by, a listener added,
 * draining or removed. Every such notice leaves through one sink ({@link LocalRoutes#onChange}, set with
 * {@code Fulcrum.onRuntimeChange}), so an event hub subscribes with one line.
 */
public sealed interface RuntimeChange {

  /** This node routes listener {@code listener}'s requests by {@code state} from now on (for new requests). */
  record RouteTableChanged(String listener, long previousVersion, RouteTableState state) implements RuntimeChange {}

  /**
   * A listener of this node was added, began draining, or was removed; {@code origin}: where the command came from, as
   * the node's listener journal records it ("admin-api 127.0.0.1", "java-api", "config", "restart").
   */
  record ListenerChanged(String listener, String protocol, Kind kind, InetSocketAddress address, String detail, String origin)
      implements RuntimeChange {}

  /** {@code BIND_FAILED}: a listener from the node's listener journal could not bind at start; the node started without it. */
  enum Kind { ADDED, DRAINING, REMOVED, BIND_FAILED }
}
