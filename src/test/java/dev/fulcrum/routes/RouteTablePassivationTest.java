package dev.fulcrum.routes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.fulcrum.Fulcrum;
import dev.fulcrum.config.HttpRouteSettings;
import dev.fulcrum.config.HttpSettingsParser;
import dev.fulcrum.pool.PoolEntity;
import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.RunningEntities;
import dev.fulcrum.testing.TestConfig;
import java.time.Duration;
import java.util.List;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Sharding remembers every route table entity it starts and starts them all again on each cluster start and each
 * failover, until an entity passivates. One started by a change naming a listener that never had a table (a typo)
 * leaves; a table's entity stays, also one that a change setting a new table started.
 */
class RouteTablePassivationTest {
  private Fulcrum fulcrum;
  private ActorTestKit kit;

  @BeforeEach
  void start() {
    fulcrum = Fulcrum.start(TestConfig.of("""
        fulcrum.pools.web.backends = ["127.0.0.1:1"]
        fulcrum.listeners.http.main { bind = "127.0.0.1:0", routes = [{name = all, pool = web}] }
        """));
    kit = ActorTestKit.create(fulcrum.clusterSystem());
  }

  @AfterEach
  void stop() throws Exception {
    // the kit runs on the node's own system, which the node stops
    fulcrum.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  /** The listeners whose table entities run on this node now. */
  private Set<String> running() {
    return RunningEntities.of(fulcrum, kit, RouteTableEntity.TYPE_KEY);
  }

  private RouteTableEntity.Reply change(String listener,
      BiFunction<PoolEntity.Request, ActorRef<RouteTableEntity.Reply>, RouteTableEntity.Change> command) throws Exception {
    return fulcrum.changeRoutes(listener, PoolEntity.Request.of("test", Duration.ofSeconds(5)), command)
        .toCompletableFuture().get(20, TimeUnit.SECONDS);
  }

  private static HttpRouteSettings route(String name) {
    return HttpSettingsParser.parseRoute(Fulcrum.withDefaults(ConfigFactory.empty()), "later",
        ConfigFactory.parseString("{name = " + name + ", path = \"/" + name + "\", pool = web}"), Set.of("web"));
  }

  @Test
  void anEntityWithoutATableLeavesAndATablesEntityStays() throws Exception {
    Eventually.await(Duration.ofSeconds(10), "the config table's entity running", () -> running().contains("main"));

    RouteTableEntity.Reply typo = change("mian", (r, to) -> new RouteTableEntity.RemoveRoute("all", r, to));
    assertEquals(RouteTableEntity.Reason.NO_SUCH_TABLE, assertInstanceOf(RouteTableEntity.Rejected.class, typo).reason());
    Eventually.await(Duration.ofSeconds(10), "the entity of the listener without a table gone", () -> !running().contains("mian"));
    assertTrue(running().contains("main"), "a table's entity stays");

    // a table set under a new name (a listener another node serves, or one added later): its entity stays
    assertInstanceOf(RouteTableEntity.Ok.class,
        change("later", (r, to) -> new RouteTableEntity.SetRoutes(List.of(route("a")), r, to)));
    Eventually.await(Duration.ofSeconds(10), "the new table's entity running", () -> running().contains("later"));
    long stayed = System.nanoTime() + Duration.ofSeconds(2).toNanos();
    while (System.nanoTime() < stayed) assertTrue(running().contains("later"), "the new table's entity stays");
    assertInstanceOf(RouteTableEntity.Ok.class,
        change("later", (r, to) -> new RouteTableEntity.AddRoute(route("b"), OptionalInt.empty(), r, to)));
  }
}
