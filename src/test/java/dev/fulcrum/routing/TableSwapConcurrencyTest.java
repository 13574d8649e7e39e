package dev.fulcrum.routing;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.config.BackendSettings;
import dev.fulcrum.config.PoolSettings;
import dev.fulcrum.config.StrategySettings;
import dev.fulcrum.testing.PoolHealth;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Many threads pick from a pool's table while its router keeps republishing it with other strategies, weights (some
 * 0) and slow start: no pick may throw, and none may return a backend that is not eligible in the table it came from.
 */
class TableSwapConcurrencyTest {
  private static RoutingFixture live;
  private static Fulcrum fulcrum;

  @BeforeAll
  static void start() {
    live = new RoutingFixture();
    for (int i = 0; i < 5; i++) live.addBackend("ok");
    fulcrum = live.start("fulcrum.health-check.timeout = 3s\nfulcrum.pools.swap.backends = [" + live.addresses() + "]");
  }

  @AfterAll
  static void stop() throws Exception {
    live.close();
  }

  @Test
  void picksDuringSwapsNeverThrowNorPickAnIneligibleBackend() throws Exception {
    TableRef table = fulcrum.tables().of("swap");
    PoolHealth.awaitAllUp(fulcrum, "swap", 5);
    long end = System.nanoTime() + Duration.ofSeconds(2).toNanos();
    AtomicLong picks = new AtomicLong();
    ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
    List<Thread> pickers = new ArrayList<>();
    for (int t = 0; t < 3; t++) {
      long seed = t;
      Thread picker = new Thread(() -> {
        SplittableRandom keys = new SplittableRandom(seed);
        long local = 0;
        while (System.nanoTime() < end) {
          RoutingTable current = table.current();
          try {
            int picked = current.pick(keys.nextLong());
            if (current.size() == 0 ? picked != -1 : picked < 0 || picked >= current.size()) {
              problems.add("picked " + picked + " of " + current.size() + " in table " + current.version());
            } else if (picked >= 0 && current.get(picked).weight() <= 0) {
              problems.add("picked weight-0 backend " + current.get(picked).address());
            } else if (picked >= 0) {
              RoutedBackend backend = current.get(picked);
              backend.stats().requestStarted();
              backend.stats().requestFinished(1_000 + keys.nextInt(100_000));
            }
          } catch (RuntimeException e) {
            problems.add("pick threw " + e);
          }
          local++;
        }
        picks.addAndGet(local);
      });
      picker.start();
      pickers.add(picker);
    }

    PoolSettings base = fulcrum.settings().pool("swap");
    SplittableRandom random = new SplittableRandom(11);
    long firstVersion = table.current().version();
    int configurations = 0;
    ActorRef<PoolRouter.Command> router = fulcrum.router("swap");
    while (System.nanoTime() < end) {
      List<BackendSettings> weighted = new ArrayList<>();
      for (BackendSettings b : base.backends()) weighted.add(new BackendSettings(b.address(), random.nextInt(4)));
      if (random.nextBoolean()) weighted.remove(random.nextInt(weighted.size()));
      StrategyKind kind = StrategyKind.values()[random.nextInt(StrategyKind.values().length)];
      StrategySettings settings = new StrategySettings(
          HashKey.CLIENT_IP, random.nextBoolean() ? 0 : 1.5, Duration.ofMillis(random.nextInt(2) * 300L));
      long published = table.current().version();
      router.tell(new PoolRouter.Configure(new PoolSettings("swap", kind, weighted, base.healthCheck(), settings)));
      configurations++;
      // The next change goes in once the router has published this one, so every change becomes a table.
      long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
      while (table.current().version() == published) {
        if (System.nanoTime() > deadline) throw new AssertionError("router published no table within 5 s of a change");
        Thread.onSpinWait();
      }
    }
    for (Thread picker : pickers) picker.join(10_000);
    long tables = table.current().version() - firstVersion;
    assertTrue(problems.isEmpty(), problems.size() + " problems, first: " + problems.peek());
    assertTrue(tables > 100, "tables swapped during the run: " + tables + " (" + configurations + " configurations)");
    assertTrue(picks.get() > 10_000, "picks: " + picks.get());
  }
}
