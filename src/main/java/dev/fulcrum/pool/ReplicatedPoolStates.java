package dev.fulcrum.pool;

import org.apache.pekko.cluster.ddata.Key;
import org.apache.pekko.cluster.ddata.LWWMap;
import org.apache.pekko.cluster.ddata.LWWMapKey;
import org.apache.pekko.cluster.ddata.LWWRegister;
import org.apache.pekko.cluster.ddata.SelfUniqueAddress;

/**
 * Every pool's latest state, replicated to every node as one Distributed Data {@link LWWMap} keyed by pool name. The
 * register's "last writer" clock is the state's version (the journal sequence number), not wall time: a merge keeps
 * the higher version, so an older state arriving late or from a stale node never replaces a newer one, whatever the
 * clocks of the nodes say.
 */
public final class ReplicatedPoolStates {
  public static final Key<LWWMap<String, PoolState>> KEY = LWWMapKey.create("fulcrum-pool-states");

  private static final LWWRegister.Clock<PoolState> VERSION_CLOCK = (currentTimestamp, state) -> state.version();

  private ReplicatedPoolStates() {}

  /**
   * The map with {@code state} in it if it is newer than the one the map has, else the map unchanged. (A local put
   * must check: the register would take any value put locally, only merges compare clocks.)
   */
  public static LWWMap<String, PoolState> offer(LWWMap<String, PoolState> map, SelfUniqueAddress node, PoolState state) {
    scala.Option<PoolState> known = map.get(state.name());
    if (known.isDefined() && known.get().version() >= state.version()) return map;
    return map.put(node, state.name(), state, VERSION_CLOCK);
  }
}
