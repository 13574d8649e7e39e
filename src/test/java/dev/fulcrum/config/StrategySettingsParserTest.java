package dev.fulcrum.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.routing.HashKey;
import dev.fulcrum.routing.StrategyKind;
import dev.fulcrum.testing.TestConfig;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class StrategySettingsParserTest {

  @Test
  void poolsGetTheReferenceDefaults() {
    PoolSettings pool = parse("strategy = consistent-hash");
    assertEquals(StrategyKind.CONSISTENT_HASH, pool.strategy());
    assertEquals(new StrategySettings(HashKey.CLIENT_IP, 1.25, Duration.ZERO), pool.strategySettings());
    assertEquals(StrategySettings.DEFAULT, pool.strategySettings());
  }

  @Test
  void aPoolOverridesEachSettingAndFallsBackForTheOthers() {
    FulcrumSettings settings = SettingsParser.parse(TestConfig.resolved("""
        fulcrum.balancing.slow-start = 20s
        fulcrum.pools.web { strategy = consistent-hash, backends = ["127.0.0.1:9001"], hash-key = "header:X-User" }
        fulcrum.pools.api { strategy = least-connections, backends = ["127.0.0.1:9002"], bounded-load = 0, slow-start = 5s }
        """));
    StrategySettings web = settings.pool("web").strategySettings();
    assertEquals(new HashKey(HashKey.Source.HEADER, "X-User"), web.hashKey());
    assertEquals(Duration.ofSeconds(20), web.slowStart());
    StrategySettings api = settings.pool("api").strategySettings();
    assertEquals(0, api.boundedLoad());
    assertEquals(Duration.ofSeconds(5), api.slowStart());
    assertEquals(HashKey.CLIENT_IP, api.hashKey());
  }

  @Test
  void everyStrategyNameParses() {
    for (StrategyKind kind : StrategyKind.values()) {
      assertEquals(kind, parse("strategy = " + kind.configName()).strategy());
    }
  }

  @Test
  void mistakesNameTheirPath() {
    assertError("hash-key = \"header:\"", "fulcrum.pools.web.hash-key: 'header:' is not a hash key");
    assertError("hash-key = ip", "fulcrum.pools.web.hash-key: 'ip' is not a hash key (client-ip, path,");
    assertError("bounded-load = 0.5", "fulcrum.pools.web.bounded-load: must be 0 (off) or a factor above 1");
    assertError("bounded-load = lots", "fulcrum.pools.web.bounded-load: ");
    assertError("slow-start = -1s", "fulcrum.pools.web.slow-start: must be 0s (off) or a positive duration");
    assertError("slow-start = soon", "fulcrum.pools.web.slow-start: ");
    assertError("strategy = fastest", "fulcrum.pools.web.strategy: unknown strategy 'fastest' (known: round-robin, "
        + "weighted-round-robin, least-connections, random, power-of-two-choices, consistent-hash, least-response-time)");
  }

  @Test
  void aPoolsOutlierDetectionOverridesSomeKeysAndTakesTheOthersFromTheDefaults() {
    FulcrumSettings settings = SettingsParser.parse(TestConfig.resolved("""
        fulcrum.balancing.outlier-detection.base-ejection-time = 10s
        fulcrum.pools.web { backends = ["127.0.0.1:9001"], outlier-detection { consecutive-5xx = 0, max-ejection-percent = 20 } }
        """));
    OutlierSettings web = settings.pool("web").strategySettings().outliers();
    assertEquals(new OutlierSettings(0, 5, 5, Duration.ofSeconds(10), Duration.ofMinutes(5), 20), web);
  }

  @Test
  void outlierDetectionMistakesNameTheirPath() {
    assertError("outlier-detection.consecutive-5xx = -1", "fulcrum.pools.web.outlier-detection.consecutive-5xx: ");
    assertError("outlier-detection.max-ejection-percent = 101", "fulcrum.pools.web.outlier-detection.max-ejection-percent: ");
    assertError("outlier-detection.base-ejection-time = 0s", "fulcrum.pools.web.outlier-detection.base-ejection-time: ");
    assertError("outlier-detection { base-ejection-time = 10m, max-ejection-time = 1m }",
        "fulcrum.pools.web.outlier-detection.max-ejection-time: must be at least base-ejection-time");
  }

  @Test
  void mistakesInTheDefaultsNameTheDefaultsPath() {
    SettingsException e = assertThrows(SettingsException.class, () -> SettingsParser.parse(TestConfig.resolved("""
        fulcrum.balancing.hash-key = "cookie"
        fulcrum.pools.web.backends = ["127.0.0.1:9001"]
        """)));
    assertTrue(e.getMessage().startsWith("fulcrum.balancing.hash-key: 'cookie' is not a hash key"), e.getMessage());
  }

  private static PoolSettings parse(String poolHocon) {
    return SettingsParser.parse(TestConfig.resolved("fulcrum.pools.web { backends = [\"127.0.0.1:9001\"], " + poolHocon + " }"))
        .pool("web");
  }

  private static void assertError(String poolHocon, String expectedStart) {
    SettingsException e = assertThrows(SettingsException.class, () -> parse(poolHocon));
    assertTrue(e.getMessage().startsWith(expectedStart), e.getMessage());
  }
}
