package dev.fulcrum.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.config.BackendSettings;
import dev.fulcrum.config.HostPort;
import dev.fulcrum.routing.StrategyKind;
import dev.fulcrum.testing.PostgresTestDb;
import dev.fulcrum.testing.TestConfig;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The journal round trip against a real PostgreSQL, through cluster-configs/postgres.conf. Runs when
 * FULCRUM_TEST_PG_URL is set (system property or environment; CI sets it), e.g.
 * {@code jdbc:postgresql://127.0.0.1:5432/fulcrum}, with FULCRUM_TEST_PG_USER and FULCRUM_TEST_PG_PASSWORD
 * (default fulcrum).
 */
class PostgresJournalTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(10);

  private static Fulcrum start(String url) {
    return Fulcrum.start(TestConfig.of("""
        include file("cluster-configs/postgres.conf")
        pekko-persistence-jdbc.shared-databases.fulcrum.db {
          url = "%s"
          user = "%s"
          password = "%s"
        }
        fulcrum.journal.snapshot-every = 2
        """.formatted(url, PostgresTestDb.user(), PostgresTestDb.password())));
  }

  private static <T> T await(CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(20, TimeUnit.SECONDS);
  }

  private static void ok(PoolEntity.Reply reply) {
    assertInstanceOf(PoolEntity.Ok.class, reply, reply.toString());
  }

  @Test
  void poolsSurviveARestartOnPostgres() throws Exception {
    Optional<String> url = PostgresTestDb.url();
    Assumptions.assumeTrue(url.isPresent(), "FULCRUM_TEST_PG_URL is not set");
    String pool = "pg-" + UUID.randomUUID().toString().substring(0, 8);
    HostPort a = HostPort.parse("127.0.0.1:9101", false);
    HostPort b = HostPort.parse("127.0.0.1:9102", false);

    PoolState before;
    List<PoolEntity.Entry> history;
    Fulcrum first = start(url.get());
    try {
      EntityRef<PoolEntity.Command> ref = first.pool(pool);
      ok(await(ref.ask(r -> new PoolEntity.Create(StrategyKind.ROUND_ROBIN, List.of(new BackendSettings(a, 1)), r), TIMEOUT)));
      ok(await(ref.ask(r -> new PoolEntity.AddBackend(b, 3, r), TIMEOUT)));
      ok(await(ref.ask(r -> new PoolEntity.Drain(a, r), TIMEOUT)));
      ok(await(ref.ask(r -> new PoolEntity.SetWeight(b, 4, r), TIMEOUT)));
      ok(await(ref.ask(r -> new PoolEntity.RemoveBackend(a, r), TIMEOUT)));
      before = await(ref.<PoolState>ask(PoolEntity.GetState::new, TIMEOUT));
      history = ((PoolEntity.History) await(ref.<PoolEntity.HistoryReply>ask(r -> new PoolEntity.GetHistory(1, r), TIMEOUT))).events();
      assertEquals(5, history.size());
    } finally {
      first.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }

    Fulcrum second = start(url.get());
    try {
      EntityRef<PoolEntity.Command> ref = second.pool(pool);
      assertEquals(before, await(ref.<PoolState>ask(PoolEntity.GetState::new, TIMEOUT)));
      assertEquals(history, ((PoolEntity.History) await(ref.<PoolEntity.HistoryReply>ask(r -> new PoolEntity.GetHistory(1, r), TIMEOUT))).events());
      assertEquals(List.of(new BackendSettings(b, 4)), second.localPools().existing().stream()
          .filter(p -> p.name().equals(pool)).findFirst().orElseThrow().pool().backends(), "recovered at start-up, not only on demand");
    } finally {
      second.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
      PostgresTestDb.forgetPool(pool);
    }
  }
}
