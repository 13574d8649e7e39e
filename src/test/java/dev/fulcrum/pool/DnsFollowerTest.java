package dev.fulcrum.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.config.BackendSettings;
import dev.fulcrum.config.DiscoverySettings;
import dev.fulcrum.config.DnsSettings;
import dev.fulcrum.config.HealthCheckSettings;
import dev.fulcrum.config.HostPort;
import dev.fulcrum.config.PoolSettings;
import dev.fulcrum.discovery.DnsResolver;
import dev.fulcrum.routing.StrategyKind;
import dev.fulcrum.testing.TestDnsServer;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The follower against a stand-in for its entity: each change is a command with origin {@code dns <name>} and a
 * deadline, sent one at a time; a change that was not applied (or whose outcome is unknown) stops the round, which runs
 * again later from the state the entity has then; a change someone else made first is not an error.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DnsFollowerTest {
  private final ActorTestKit kit = ActorTestKit.create("dns-follower-test");
  private final TestDnsServer dns = new TestDnsServer();
  private final AtomicInteger failures = new AtomicInteger();
  private static final HealthCheckSettings HC = new HealthCheckSettings(
      HealthCheckSettings.Kind.TCP, "/health", 200, Optional.empty(), Duration.ofSeconds(2), Duration.ofSeconds(1), 2, 3);
  private static final HostPort A = HostPort.parse("127.0.0.2:80", false);
  private static final HostPort B = HostPort.parse("127.0.0.3:80", false);

  @AfterAll
  void stop() {
    kit.shutdownTestKit();
    dns.close();
  }

  private PoolState state(long version, List<HostPort> backends, List<HostPort> discovered) {
    PoolSettings pool = new PoolSettings("web", StrategyKind.ROUND_ROBIN,
        backends.stream().map(a -> new BackendSettings(a, 3)).toList(), HC);
    return new PoolState("web", version, Optional.of(pool), List.of(),
        discovered.stream().map(a -> new PoolState.Discovered(a, "web.test:80")).toList());
  }

  @Test
  void changesGoOneAtATimeWithTheirOriginAndARefusedOneIsTriedAgainFromTheStateOfThen() {
    dns.addresses("web.test", 60, "127.0.0.2", "127.0.0.3");
    DnsSettings settings = new DnsSettings(List.of(HostPort.parse(dns.address(), false)), Duration.ofMillis(500),
        Duration.ofSeconds(1), Duration.ofSeconds(60));
    DiscoverySettings discovery = new DiscoverySettings("web",
        List.of(new DiscoverySettings.DnsName("web.test", 80, false, 3)), settings);
    PoolDiscovery context = new PoolDiscovery(pool -> Optional.of(discovery), new DnsResolver(settings), (p, n) -> failures.incrementAndGet());
    TestProbe<PoolEntity.Command> entity = kit.createTestProbe();
    ActorRef<DnsFollower.Command> follower = kit.spawn(DnsFollower.create("web", discovery, context, entity.ref(),
        state(1, List.of(), List.of()), Duration.ofSeconds(2)));

    PoolEntity.AddBackend first = entity.expectMessageClass(PoolEntity.AddBackend.class, Duration.ofSeconds(10));
    assertEquals(A, first.address());
    assertEquals(3, first.weight());
    assertEquals("dns web.test:80", first.request().origin());
    assertTrue(first.request().deadline().isAfter(Instant.now()), "a deadline ahead");
    assertTrue(first.request().deadline().isBefore(Instant.now().plusSeconds(6)), "a deadline within the change deadline");
    entity.expectNoMessage(Duration.ofMillis(300)); // one at a time
    // refused (the entity was busy past the deadline): nothing more this round; the next one comes after min-ttl
    first.replyTo().tell(new PoolEntity.Rejected(PoolEntity.Reason.EXPIRED, "too late"));
    entity.expectNoMessage(Duration.ofMillis(700));
    PoolEntity.AddBackend again = entity.expectMessageClass(PoolEntity.AddBackend.class, Duration.ofSeconds(5));
    assertEquals(A, again.address());
    again.replyTo().tell(new PoolEntity.Ok(state(2, List.of(A), List.of(A))));
    PoolEntity.AddBackend second = entity.expectMessageClass(PoolEntity.AddBackend.class, Duration.ofSeconds(5));
    assertEquals(B, second.address());
    // someone else added it first: not an error, and the round is over
    second.replyTo().tell(new PoolEntity.Rejected(PoolEntity.Reason.ALREADY_EXISTS, "exists"));
    follower.tell(new DnsFollower.PoolChanged(state(3, List.of(A, B), List.of(A))));
    entity.expectNoMessage(Duration.ofMillis(500));

    // the records change: A goes; its removal is sent, and its outcome unknown makes the next round start afresh
    dns.addresses("web.test", 1, "127.0.0.3");
    kit.stop(follower);
    ActorRef<DnsFollower.Command> next = kit.spawn(DnsFollower.create("web", discovery, context, entity.ref(),
        state(3, List.of(A, B), List.of(A)), Duration.ofSeconds(2)));
    PoolEntity.RemoveBackend remove = entity.expectMessageClass(PoolEntity.RemoveBackend.class, Duration.ofSeconds(10));
    assertEquals(A, remove.address());
    assertEquals("dns web.test:80", remove.request().origin());
    remove.replyTo().tell(new PoolEntity.OutcomeUnknown("lost"));
    // it was applied after all: the entity's state says so, and nothing is sent again
    next.tell(new DnsFollower.PoolChanged(state(4, List.of(B), List.of())));
    entity.expectNoMessage(Duration.ofMillis(1500));
    assertEquals(0, failures.get());

    // a failing name is counted and shown, and its last good answer kept
    dns.fail("web.test", TestDnsServer.Failure.SERVFAIL);
    TestProbe<DiscoveryStatus> status = kit.createTestProbe();
    DiscoveryStatus seen = status.awaitAssert(Duration.ofSeconds(10), () -> {
      next.tell(new DnsFollower.GetStatus(status.ref()));
      DiscoveryStatus s = status.receiveMessage(Duration.ofSeconds(2));
      assertTrue(s.names().get(0).error() != null, s.toString());
      return s;
    });
    assertEquals(List.of("127.0.0.3:80"), seen.names().get(0).addresses());
    assertTrue(failures.get() >= 1);
    entity.expectNoMessage(Duration.ofMillis(300));
  }
}
