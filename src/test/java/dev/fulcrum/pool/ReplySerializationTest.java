package dev.fulcrum.pool;

import com.typesafe.config.ConfigFactory;
import dev.fulcrum.config.BackendSettings;
import dev.fulcrum.config.HealthCheckSettings;
import dev.fulcrum.config.HostPort;
import dev.fulcrum.config.PoolSettings;
import dev.fulcrum.routing.StrategyKind;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Replies that cross nodes when a pool's entity runs on another node survive serialization as they are. */
class ReplySerializationTest {
  private static ActorTestKit kit;

  @BeforeAll
  static void start() {
    kit = ActorTestKit.create("reply-serialization",
        ConfigFactory.parseResources("fulcrum-pekko.conf").withOnlyPath("pekko.actor.serialization-bindings")
            .withFallback(ConfigFactory.parseString("pekko.actor.provider = local")));
  }

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  @Test
  void historyStateAndLocationRoundTrip() {
    HostPort a = HostPort.parse("127.0.0.1:9001", false);
    HealthCheckSettings hc = new HealthCheckSettings(
        HealthCheckSettings.Kind.HTTP, "/health", 200, Optional.of("up"), Duration.ofSeconds(2), Duration.ofSeconds(1), 2, 3);
    PoolSettings pool = new PoolSettings("web", StrategyKind.ROUND_ROBIN, List.of(new BackendSettings(a, 2)), hc);
    Instant now = Instant.parse("2026-01-02T03:04:05Z");
    PoolEntity.History history = new PoolEntity.History(List.of(
        new PoolEntity.Entry(1, new PoolEvent.PoolCreated(pool, now, "config")),
        new PoolEntity.Entry(2, new PoolEvent.WeightChanged(a, 3, now, "java-api")),
        new PoolEntity.Entry(3, new PoolEvent.DrainStarted(a, now, "admin-api 127.0.0.1")),
        new PoolEntity.Entry(4, new PoolEvent.HealthCheckChanged(hc, now, "java-api")),
        new PoolEntity.Entry(5, new PoolEvent.PoolDeleted(now, "java-api"))));
    kit.serializationTestKit().verifySerialization(history, true);
    kit.serializationTestKit().verifySerialization(new PoolState("web", 4, Optional.of(pool)), true);
    kit.serializationTestKit().verifySerialization(new PoolEntity.Location("web", "pekko://fulcrum@127.0.0.1:2551"), true);
    kit.serializationTestKit().verifySerialization(new PoolEntity.Ok(new PoolState("web", 5, Optional.empty())), true);
  }
}
