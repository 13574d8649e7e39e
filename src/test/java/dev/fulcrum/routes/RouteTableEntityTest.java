package dev.fulcrum.routes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.fulcrum.Fulcrum;
import dev.fulcrum.config.HttpListenerSettings;
import dev.fulcrum.config.HttpRouteSettings;
import dev.fulcrum.config.HttpRouteSettings.WeightedPool;
import dev.fulcrum.config.HttpSettingsParser;
import dev.fulcrum.config.JournalSettings;
import dev.fulcrum.config.SettingsException;
import dev.fulcrum.pool.PoolEntity.Request;
import dev.fulcrum.testing.TestConfig;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.UUID;
import java.util.function.Function;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit.CommandResultWithReply;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The route table entity without sockets: a change that is in effect already persists nothing, keeps the version and
 * tells no one; a table the listener's engine cannot serve is refused naming the field, with the config parser's text.
 */
class RouteTableEntityTest {
  private static final Set<String> POOLS = Set.of("blue", "green");
  private static ActorTestKit kit;
  private static JournalSettings settings;
  private static Config root;

  @BeforeAll
  static void startKit() {
    kit = ActorTestKit.create("route-table-entity", EventSourcedBehaviorTestKit.config()
        .withFallback(ConfigFactory.parseResources("fulcrum-pekko.conf").withOnlyPath("pekko.actor.serialization-bindings"))
        .withFallback(TestConfig.of("""
            pekko.actor.provider = local
            fulcrum.journal.read-journal = "pekko.persistence.testkit.query"
            """)));
    settings = JournalSettings.parse(kit.system().settings().config());
    root = Fulcrum.withDefaults(ConfigFactory.empty());
  }

  @AfterAll
  static void stopKit() {
    kit.shutdownTestKit();
  }

  private static HttpRouteSettings route(String hocon) {
    return HttpSettingsParser.parseRoute(root, "web", ConfigFactory.parseString(hocon), POOLS);
  }

  private record Entity(
      EventSourcedBehaviorTestKit<RouteTableEntity.Command, RouteEvent, RouteTableState> kit, TestProbe<RouteTableState> published) {
    CommandResultWithReply<RouteTableEntity.Command, RouteEvent, RouteTableState, RouteTableEntity.Reply> run(
        Function<ActorRef<RouteTableEntity.Reply>, RouteTableEntity.Command> command) {
      return kit.runCommand(command);
    }
  }

  private static Entity entity(Optional<HttpListenerSettings.Engine> engine) {
    TestProbe<RouteTableState> published = kit.createTestProbe();
    String listener = "web-" + UUID.randomUUID().toString().substring(0, 8);
    return new Entity(EventSourcedBehaviorTestKit.create(kit.system(),
        RouteTableEntity.create(listener, settings, published.ref()::tell, () -> POOLS, name -> engine, null)), published);
  }

  private static Request request() {
    return Request.of("test", Duration.ofSeconds(30));
  }

  private static RouteTableState ok(CommandResultWithReply<?, ?, ?, RouteTableEntity.Reply> result) {
    return assertInstanceOf(RouteTableEntity.Ok.class, result.reply()).state();
  }

  /** The table is in effect already: Ok with the current version, nothing persisted, nothing published. */
  private static void unchanged(Entity e, String what, Function<ActorRef<RouteTableEntity.Reply>, RouteTableEntity.Command> command) {
    long version = e.kit().getState().version();
    var result = e.run(command);
    assertTrue(result.hasNoEvents(), what + ": no event");
    assertEquals(version, ok(result).version(), what + ": the current version");
    assertEquals(version, e.kit().getState().version(), what);
    e.published().expectNoMessage(Duration.ofMillis(50));
  }

  @Test
  void aChangeThatIsInEffectAlreadyWritesNothing() {
    Entity e = entity(Optional.empty());
    HttpRouteSettings main = route("{name = main, pool = blue}");
    HttpRouteSettings api = route("{name = api, path = /api, pools = [{pool = blue, weight = 80}, {pool = green, weight = 20}]}");
    var set = e.run(r -> new RouteTableEntity.SetRoutes(List.of(api, main), request(), r));
    assertEquals(1, ok(set).version());
    assertEquals(1, e.published().receiveMessage().version());

    unchanged(e, "the same table", r -> new RouteTableEntity.SetRoutes(List.of(api, main), request(), r));
    unchanged(e, "the same route", r -> new RouteTableEntity.ReplaceRoute("main", main, request(), r));
    unchanged(e, "the same pools", r -> new RouteTableEntity.SetPools("api",
        List.of(new WeightedPool("blue", 80), new WeightedPool("green", 20)), request(), r));
    unchanged(e, "one pool, whatever its weight", r -> new RouteTableEntity.SetPools("main", List.of(new WeightedPool("blue", 7)), request(), r));
    unchanged(e, "the same rules", r -> new RouteTableEntity.SetRules("main", main.requestHeaders(), main.responseHeaders(),
        main.firewall(), request(), r));
    unchanged(e, "the same position", r -> new RouteTableEntity.MoveRoute("main", 1, request(), r));
    unchanged(e, "with an idempotency key", r -> new RouteTableEntity.MoveRoute("api", 0,
        request().withIdempotencyKey("k-1"), r));

    // and a real change still writes
    var moved = e.run(r -> new RouteTableEntity.MoveRoute("main", 0, request(), r));
    assertEquals(RouteEvent.RouteMoved.class, moved.event().getClass());
    assertEquals(2, ok(moved).version());
    assertEquals(2, e.published().receiveMessage().version());
  }

  @Test
  void aRouteTheListenersEngineCannotServeIsRefusedAsTheConfigRefusesIt() {
    Entity pekko = entity(Optional.of(HttpListenerSettings.Engine.PEKKO));
    HttpRouteSettings main = route("{name = main, pool = blue}");
    ok(pekko.run(r -> new RouteTableEntity.SetRoutes(List.of(main), request(), r)));
    pekko.published().receiveMessage();
    HttpRouteSettings proxied = route("{name = proxied, path = /p, pool = green, send-proxy-protocol = v1}");

    var added = pekko.run(r -> new RouteTableEntity.AddRoute(proxied, OptionalInt.of(0), request(), r));
    RouteTableEntity.Rejected rejected = assertInstanceOf(RouteTableEntity.Rejected.class, added.reply());
    assertEquals(RouteTableEntity.Reason.INVALID, rejected.reason());
    assertEquals("routes[0].send-proxy-protocol: needs engine = nio (Pekko's client pools cannot send a PROXY header) "
        + "(listener '" + pekko.kit().getState().listener() + "' has engine = pekko)", rejected.message());
    assertTrue(added.hasNoEvents());
    assertEquals(1, pekko.kit().getState().version());
    pekko.published().expectNoMessage(Duration.ofMillis(50));

    // the config parser refuses the same setting with the same text
    String config = org.junit.jupiter.api.Assertions.assertThrows(SettingsException.class, () -> HttpSettingsParser.parseListener(
        root, "pk", ConfigFactory.parseString("bind = \"127.0.0.1:0\", engine = pekko, routes = [{pool = green, send-proxy-protocol = v1}]"),
        POOLS)).getMessage();
    assertTrue(config.startsWith("pk.send-proxy-protocol: " + dev.fulcrum.config.RouteRules.PEKKO_CANNOT_SEND_PROXY), config);

    // the nio engine takes it
    Entity nio = entity(Optional.of(HttpListenerSettings.Engine.NIO));
    ok(nio.run(r -> new RouteTableEntity.SetRoutes(List.of(main), request(), r)));
    assertEquals(2, ok(nio.run(r -> new RouteTableEntity.AddRoute(proxied, OptionalInt.of(0), request(), r))).version());
  }
}
