package dev.fulcrum.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.fulcrum.config.BackendSettings;
import dev.fulcrum.config.HealthCheckSettings;
import dev.fulcrum.config.HostPort;
import dev.fulcrum.config.PoolSettings;
import dev.fulcrum.routing.StrategyKind;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.Test;

/**
 * Which backends DNS added is part of a pool's state, rebuilt from the events' origins (so a follower that starts on
 * another node knows it), crosses nodes with the state, and keeps the start-up rule from calling them config drift.
 */
class DiscoveredStateTest {
  private static final Instant NOW = Instant.parse("2026-01-02T03:04:05Z");
  private static final HostPort FIXED = HostPort.parse("10.0.0.9:80", false);
  private static final HostPort A = HostPort.parse("10.0.0.1:80", false);
  private static final HostPort B = HostPort.parse("10.0.0.2:80", false);
  private static final HealthCheckSettings HC = new HealthCheckSettings(
      HealthCheckSettings.Kind.TCP, "/health", 200, Optional.empty(), Duration.ofSeconds(2), Duration.ofSeconds(1), 2, 3);
  private static final PoolSettings CONFIG =
      new PoolSettings("web", StrategyKind.ROUND_ROBIN, List.of(new BackendSettings(FIXED, 1)), HC);

  private static PoolState replay(PoolEvent... events) {
    PoolState state = PoolState.empty("web");
    for (PoolEvent e : events) state = state.apply(e);
    return state;
  }

  @Test
  void backendsAddedWithOriginDnsAreTrackedUntilRemovedWhoeverRemovesThem() {
    PoolState state = replay(
        new PoolEvent.PoolCreated(CONFIG, NOW, "config"),
        new PoolEvent.BackendAdded(A, 1, NOW, "dns web.test:80"),
        new PoolEvent.BackendAdded(B, 1, NOW, "admin-api 127.0.0.1"),
        new PoolEvent.DrainStarted(A, NOW, "admin-api 127.0.0.1"));
    assertEquals(Map.of(A, "web.test:80"), state.discoveredBackends());
    assertEquals(Map.of(), state.apply(new PoolEvent.BackendRemoved(A, NOW, "admin-api 127.0.0.1")).discoveredBackends());
    assertEquals(Map.of(), state.apply(new PoolEvent.PoolDeleted(NOW, "java-api")).discoveredBackends());
  }

  @Test
  void theStartUpRuleLeavesDiscoveredBackendsAloneWhileThePoolFollowsNames() {
    PoolState state = replay(new PoolEvent.PoolCreated(CONFIG, NOW, "config"), new PoolEvent.BackendAdded(A, 1, NOW, "dns web.test:80"));
    assertTrue(PoolDiff.between(state, CONFIG, true, NOW).events().isEmpty());
    // a pool that no longer follows names: what DNS added is drift like any other backend
    assertEquals(List.of(new PoolEvent.BackendRemoved(A, NOW, "config")), PoolDiff.between(state, CONFIG, false, NOW).events());
  }

  @Test
  void theStateAndTheDiscoveryStatusCrossNodes() {
    ActorTestKit kit = ActorTestKit.create("discovered-serialization",
        ConfigFactory.parseResources("fulcrum-pekko.conf").withOnlyPath("pekko.actor.serialization-bindings")
            .withFallback(ConfigFactory.parseString("pekko.actor.provider = local")));
    try {
      PoolState state = replay(new PoolEvent.PoolCreated(CONFIG, NOW, "config"), new PoolEvent.BackendAdded(A, 1, NOW, "dns web.test:80"));
      kit.serializationTestKit().verifySerialization(state, true);
      kit.serializationTestKit().verifySerialization(new DiscoveryStatus(List.of(
          new DiscoveryStatus.Name("web.test:80", List.of("10.0.0.1:80"), NOW, null, 0, NOW.plusSeconds(5)),
          new DiscoveryStatus.Name("ghost.test:80", List.of(), null, "ghost.test has no A or AAAA record", 3, NOW))), true);
    } finally {
      kit.shutdownTestKit();
    }
  }
}
