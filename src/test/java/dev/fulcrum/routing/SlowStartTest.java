package dev.fulcrum.routing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.PoolHealth;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A backend that comes back up ramps from 10% of its weight to all of it over the configured window. */
class SlowStartTest {
  private static final Duration WINDOW = Duration.ofSeconds(3);

  private static RoutingFixture live;
  private static Fulcrum fulcrum;

  @BeforeAll
  static void start() {
    live = new RoutingFixture();
    for (int i = 0; i < 2; i++) live.addBackend("ok");
    fulcrum = live.start("""
        fulcrum.health-check { interval = 100ms, timeout = 3s, rise = 1, fall = 2 }
        fulcrum.pools.ramp {
          strategy = weighted-round-robin
          slow-start = 3s
          backends = [%s]
        }
        """.formatted(live.addresses()));
  }

  @AfterAll
  static void stop() throws Exception {
    live.close();
  }

  @Test
  void aBackendBackUpRampsOverTheWindow() {
    TableRef table = fulcrum.tables().of("ramp");
    Duration timeout = Duration.ofSeconds(10);
    PoolHealth.awaitAllUp(fulcrum, "ramp", 2);
    RoutingTable initial = table.current();
    assertEquals(1.0, initial.effectiveWeight(0), "backends of the first table start at full weight");
    assertEquals(1.0, initial.effectiveWeight(1));

    live.backends.get(1).stop();
    Eventually.await(timeout, "the stopped backend out of the table", () -> table.current().size() == 1);
    live.backends.get(1).start();
    RoutingTable back = Eventually.await(timeout, "the backend back in the table", table::current, t -> t.size() == 2);
    long backAt = System.nanoTime();
    // The first step lasts a ninth of the window; a slow poll may first see the second one.
    int tenths = (int) Math.round(back.effectiveWeight(1) * 10);
    assertTrue(tenths == 1 || tenths == 2, "starts at 10% of its weight, got " + back.effectiveWeight(1));
    // Smooth WRR over weights 10 and `tenths`: exactly `tenths` picks in every 10 + `tenths` for the ramping one.
    int[] counts = new int[2];
    for (int i = 0; i < (10 + tenths) * 100; i++) counts[back.pick(0)]++;
    assertEquals(tenths * 100, counts[1]);

    List<Double> seen = new ArrayList<>();
    Eventually.await(timeout, "the ramp to finish", () -> {
      RoutingTable current = table.current();
      assertEquals(2, current.size(), "no backend went down during the ramp");
      double weight = current.effectiveWeight(1);
      if (seen.isEmpty() || seen.get(seen.size() - 1) != weight) seen.add(weight);
      return weight == 1.0;
    });
    double rampSeconds = (System.nanoTime() - backAt) / 1e9;
    for (int i = 1; i < seen.size(); i++) assertTrue(seen.get(i) > seen.get(i - 1), "ramps up step by step: " + seen);
    assertTrue(seen.size() >= 5, "several intermediate steps: " + seen);
    double window = WINDOW.toMillis() / 1000.0;
    assertTrue(rampSeconds > window * 0.75 && rampSeconds < window + 1.5,
        "full weight after about the window: " + rampSeconds + " s");
  }
}
