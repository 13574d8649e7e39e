package dev.fulcrum.routes;

import org.apache.pekko.cluster.ddata.Key;
import org.apache.pekko.cluster.ddata.LWWMap;
import org.apache.pekko.cluster.ddata.LWWMapKey;
import org.apache.pekko.cluster.ddata.LWWRegister;
import org.apache.pekko.cluster.ddata.SelfUniqueAddress;

/**
 * Every route table's latest state, replicated to every node as one Distributed Data map keyed by listener name; the
 * register's clock is the state's version (as {@link dev.fulcrum.pool.ReplicatedPoolStates}'), so a merge keeps the
 * newer table whatever the nodes' clocks say.
 */
public final class ReplicatedRouteTables {
  public static final Key<LWWMap<String, RouteTableState>> KEY = LWWMapKey.create("fulcrum-route-tables");

  private static final LWWRegister.Clock<RouteTableState> VERSION_CLOCK = (currentTimestamp, state) -> state.version();

  private ReplicatedRouteTables() {}

  public static LWWMap<String, RouteTableState> offer(LWWMap<String, RouteTableState> map, SelfUniqueAddress node, RouteTableState state) {
    scala.Option<RouteTableState> known = map.get(state.listener());
    if (known.isDefined() && known.get().version() >= state.version()) return map;
    return map.put(node, state.listener(), state, VERSION_CLOCK);
  }
}
