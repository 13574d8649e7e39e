package dev.fulcrum.pool;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.routing.StrategyKind;
import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.RunningEntities;
import dev.fulcrum.testing.TestConfig;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Sharding remembers every entity it starts and starts them all again on each cluster start and each failover, until an
 * entity passivates. A pool's entity passivates while its pool does not exist (deleted, or never created), and stays
 * while it does.
 */
class PoolPassivationTest {
  private Fulcrum fulcrum;
  private ActorTestKit kit;

  @BeforeEach
  void start() {
    fulcrum = Fulcrum.start(TestConfig.of("fulcrum.pools.web.backends = [\"127.0.0.1:1\"]"));
    kit = ActorTestKit.create(fulcrum.clusterSystem());
  }

  @AfterEach
  void stop() throws Exception {
    // the kit runs on the node's own system, which the node stops
    fulcrum.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  /** The pools whose entities run on this node now. */
  private Set<String> running() {
    return RunningEntities.of(fulcrum, kit, PoolEntity.TYPE_KEY);
  }

  private PoolEntity.Reply change(String pool, BiFunction<PoolEntity.Request, ActorRef<PoolEntity.Reply>, PoolEntity.Change> command)
      throws Exception {
    return fulcrum.change(pool, PoolEntity.Request.of("test", Duration.ofSeconds(5)), command)
        .toCompletableFuture().get(20, TimeUnit.SECONDS);
  }

  private PoolEntity.Reply create(String pool) throws Exception {
    return change(pool, (r, to) -> new PoolEntity.Create(StrategyKind.ROUND_ROBIN, List.of(), Optional.empty(), r, to));
  }

  @Test
  void anEntityLeavesWhenItsPoolIsDeletedAndStaysWhileItExists() throws Exception {
    assertInstanceOf(PoolEntity.Ok.class, create("temp"));
    Eventually.await(Duration.ofSeconds(10), "the pools' entities running", () -> running().containsAll(Set.of("web", "temp")));

    assertInstanceOf(PoolEntity.Ok.class, change("temp", PoolEntity.Delete::new));
    Eventually.await(Duration.ofSeconds(10), "the deleted pool's entity gone", () -> !running().contains("temp"));
    assertTrue(running().contains("web"), "an existing pool's entity stays");

    // a change to a pool that does not exist starts its entity, which answers and leaves
    assertInstanceOf(PoolEntity.Rejected.class, change("nope", PoolEntity.Delete::new));
    Eventually.await(Duration.ofSeconds(10), "the missing pool's entity gone", () -> !running().contains("nope"));

    // created again: its entity stays (it was asked to leave when it started, before the create was handled)
    assertInstanceOf(PoolEntity.Ok.class, create("temp"));
    Eventually.await(Duration.ofSeconds(10), "the re-created pool's entity running", () -> running().contains("temp"));
    long stayed = System.nanoTime() + Duration.ofSeconds(2).toNanos();
    while (System.nanoTime() < stayed) assertTrue(running().contains("temp"), "the re-created pool's entity stays");
  }
}
