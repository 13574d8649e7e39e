package dev.fulcrum.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.config.BackendSettings;
import dev.fulcrum.config.HostPort;
import dev.fulcrum.routing.PoolRouter;
import dev.fulcrum.routing.PoolStatus;
import dev.fulcrum.routing.StrategyKind;
import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.HttpBackend;
import dev.fulcrum.testing.NamedBackend;
import dev.fulcrum.testing.RawHttp;
import dev.fulcrum.testing.TestConfig;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.junit.jupiter.api.Test;

/** Embedding: a pool driven only with PoolEntity's typed messages, as the README shows. */
class JavaApiTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(5);

  private static <T> T await(CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private static PoolState ok(PoolEntity.Reply reply) {
    return assertInstanceOf(PoolEntity.Ok.class, reply, reply.toString()).state();
  }

  @Test
  void drivesAPoolWithTypedMessages() throws Exception {
    ActorTestKit backendsKit = ActorTestKit.create("java-api-backends");
    HttpBackend b1 = NamedBackend.start(backendsKit.system(), "b1");
    HttpBackend b2 = NamedBackend.start(backendsKit.system(), "b2");
    Fulcrum fulcrum = Fulcrum.start(TestConfig.of("""
        fulcrum.pools.api.backends = ["%s"]
        fulcrum.listeners.tcp.main { bind = "127.0.0.1:0", pool = api }
        """.formatted(b1.address())));
    try {
      InetSocketAddress tcp = fulcrum.tcpListener("main").localAddress();
      HostPort second = HostPort.parse(b2.address(), false);
      HostPort first = HostPort.parse(b1.address(), false);
      EntityRef<PoolEntity.Command> api = fulcrum.pool("api");

      PoolState added = ok(await(api.ask(r -> new PoolEntity.AddBackend(second, 2, r), TIMEOUT)));
      assertEquals(2, added.version());
      PoolEntity.Reply duplicate = await(api.ask(r -> new PoolEntity.AddBackend(second, 1, r), TIMEOUT));
      assertEquals(PoolEntity.Reason.ALREADY_EXISTS, assertInstanceOf(PoolEntity.Rejected.class, duplicate).reason());

      ok(await(api.ask(r -> new PoolEntity.Drain(first, r), TIMEOUT)));
      // The router applies the state before it answers a status query sent after the reply.
      PoolStatus status = await(AskPattern.<PoolRouter.Command, PoolStatus>ask(fulcrum.router("api"), PoolRouter.GetStatus::new, TIMEOUT, fulcrum.system().scheduler()));
      assertEquals(2, status.backends().size());
      Set<String> seen = new HashSet<>();
      for (int i = 0; i < 4; i++) seen.add(RawHttp.getOnce(tcp, "/"));
      assertEquals(Set.of("b2"), seen);

      PoolState state = await(api.<PoolState>ask(PoolEntity.GetState::new, TIMEOUT));
      assertEquals(BackendSettings.Admin.DRAINING, state.backend(first).orElseThrow().admin());
      PoolEntity.HistoryReply history = await(api.<PoolEntity.HistoryReply>ask(r -> new PoolEntity.GetHistory(2, r), TIMEOUT));
      List<PoolEntity.Entry> events = assertInstanceOf(PoolEntity.History.class, history).events();
      assertEquals(List.of(2L, 3L), events.stream().map(PoolEntity.Entry::seq).toList());
      assertEquals(PoolEntity.JAVA_API, events.get(0).event().origin());

      EntityRef<PoolEntity.Command> other = fulcrum.pool("other");
      ok(await(other.ask(r -> new PoolEntity.Create(StrategyKind.ROUND_ROBIN, List.of(new BackendSettings(first, 1)), r), TIMEOUT)));
      // The entity answers once the change is journaled; this node's view follows by replication, a moment later.
      Eventually.await(TIMEOUT, "'other' in this node's pools",
          () -> fulcrum.localPools().existing().stream().anyMatch(p -> p.name().equals("other")));
      ok(await(other.ask(PoolEntity.Delete::new, TIMEOUT)));
      Eventually.await(TIMEOUT, "'other' gone from this node's pools",
          () -> fulcrum.localPools().existing().stream().noneMatch(p -> p.name().equals("other")));

      ok(await(api.ask(PoolEntity.Delete::new, TIMEOUT)));
      Eventually.await(TIMEOUT, "the deleted pool's table emptied on this node",
          () -> fulcrum.tables().of("api").current().size() == 0);
      assertThrows(UncheckedIOException.class, () -> RawHttp.getOnce(tcp, "/"), "a deleted pool routes nowhere");
      ok(await(api.ask(r -> new PoolEntity.Create(StrategyKind.ROUND_ROBIN, List.of(new BackendSettings(second, 1)), r), TIMEOUT)));
      Eventually.await(TIMEOUT, "the pool created again has a backend on this node",
          () -> fulcrum.tables().of("api").current().size() == 1);
      assertEquals("b2", RawHttp.getOnce(tcp, "/"), "created again, it routes again");
    } finally {
      fulcrum.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
      backendsKit.shutdownTestKit();
    }
  }
}
