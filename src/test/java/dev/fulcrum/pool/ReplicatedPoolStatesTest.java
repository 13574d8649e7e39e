package dev.fulcrum.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.fulcrum.config.BackendSettings;
import dev.fulcrum.config.HealthCheckSettings;
import dev.fulcrum.config.HostPort;
import dev.fulcrum.config.PoolSettings;
import dev.fulcrum.routing.StrategyKind;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.apache.pekko.actor.Address;
import org.apache.pekko.cluster.UniqueAddress;
import org.apache.pekko.cluster.ddata.LWWMap;
import org.apache.pekko.cluster.ddata.LWWRegister;
import org.apache.pekko.cluster.ddata.SelfUniqueAddress;
import org.junit.jupiter.api.Test;

/** The replicated pool states keep the highest version, whatever order states are put or merged in. */
class ReplicatedPoolStatesTest {
  private static final SelfUniqueAddress NODE_A = node(2551);
  private static final SelfUniqueAddress NODE_B = node(2552);

  private static SelfUniqueAddress node(int port) {
    return new SelfUniqueAddress(new UniqueAddress(new Address("pekko", "fulcrum", "127.0.0.1", port), port));
  }

  private static PoolState state(long version, int weight) {
    HealthCheckSettings hc = new HealthCheckSettings(HealthCheckSettings.Kind.TCP, "/health", 200, Optional.empty(), Duration.ofSeconds(2), Duration.ofSeconds(1), 2, 3);
    BackendSettings backend = new BackendSettings(HostPort.parse("127.0.0.1:9001", false), weight);
    return new PoolState("web", version, Optional.of(new PoolSettings("web", StrategyKind.ROUND_ROBIN, List.of(backend), hc)));
  }

  private static PoolState web(LWWMap<String, PoolState> map) {
    return map.getEntries().get("web");
  }

  @Test
  void anOlderStateOfferedLocallyIsIgnored() {
    LWWMap<String, PoolState> map = ReplicatedPoolStates.offer(LWWMap.create(), NODE_A, state(7, 3));
    assertSame(map, ReplicatedPoolStates.offer(map, NODE_A, state(6, 2)));
    assertSame(map, ReplicatedPoolStates.offer(map, NODE_A, state(7, 9)));
    assertEquals(state(8, 4), web(ReplicatedPoolStates.offer(map, NODE_A, state(8, 4))));
  }

  @Test
  void aMergeKeepsTheHigherVersionInEitherOrder() {
    LWWMap<String, PoolState> older = ReplicatedPoolStates.offer(LWWMap.create(), NODE_A, state(3, 1));
    LWWMap<String, PoolState> newer = ReplicatedPoolStates.offer(older, NODE_B, state(4, 2));
    // A stale node writing an old state unguarded, with the version as clock (what a lagging entity would publish).
    LWWMap<String, PoolState> stale = older.put(NODE_A, "web", state(2, 5), (LWWRegister.Clock<PoolState>) (t, s) -> s.version());

    assertEquals(4, web(newer.merge(stale)).version());
    assertEquals(4, web(stale.merge(newer)).version());
    assertEquals(4, web(older.merge(newer)).version());
    assertEquals(4, web(newer.merge(older)).version());
  }

  @Test
  void aMergeOfDeltasKeepsTheHigherVersion() {
    LWWMap<String, PoolState> base = ReplicatedPoolStates.offer(LWWMap.create(), NODE_A, state(3, 1));
    LWWMap<String, PoolState> newer = ReplicatedPoolStates.offer(base.resetDelta(), NODE_B, state(4, 2));
    LWWMap<String, PoolState> stale = base.resetDelta().put(NODE_A, "web", state(2, 5), (LWWRegister.Clock<PoolState>) (t, s) -> s.version());

    LWWMap<String, PoolState> receivedNewerThenStale = newer.mergeDelta(stale.delta().get());
    assertEquals(4, web(receivedNewerThenStale).version());
    LWWMap<String, PoolState> receivedStaleThenNewer = stale.mergeDelta(newer.delta().get());
    assertEquals(4, web(receivedStaleThenNewer).version());
  }
}
