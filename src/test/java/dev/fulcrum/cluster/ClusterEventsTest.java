package dev.fulcrum.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.events.EventFilter;
import dev.fulcrum.events.EventHub;
import dev.fulcrum.events.FulcrumEvent;
import dev.fulcrum.pool.PoolEntity;
import dev.fulcrum.routing.StrategyKind;
import dev.fulcrum.testing.FastCluster;
import dev.fulcrum.testing.SseClient;
import dev.fulcrum.testing.TestConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.Test;

/**
 * Two nodes: a node's subscribers hear of the other joining and leaving the cluster, in that order; a change made
 * through one node is an event on the other (each reads the shared journal); and an SSE client resumes on the other
 * node with the id the first gave it, since ids are the journal's offsets.
 */
class ClusterEventsTest {
  private static final Duration WAIT = Duration.ofSeconds(30);

  @Test
  void aJoiningAndALeavingMemberAreEvents() throws Exception {
    String journal = TestConfig.memoryJournalUrl();
    int seedPort = TestConfig.freePort();
    Fulcrum first = Fulcrum.start(config(seedPort, seedPort, journal));
    Fulcrum second = null;
    try {
      ActorTestKit kit = ActorTestKit.create(first.system());
      TestProbe<EventHub.Delivery> members = kit.createTestProbe();
      TestProbe<EventHub.Subscribed> confirmed = kit.createTestProbe();
      first.eventHub().tell(new EventHub.Subscribe(members.getRef(), EventFilter.kinds(FulcrumEvent.Kind.MEMBER_CHANGED), 100,
          Optional.of(confirmed.getRef())));
      confirmed.expectMessageClass(EventHub.Subscribed.class);

      second = Fulcrum.start(config(0, seedPort, journal));
      String joined = Cluster.get(second.clusterSystem()).selfMember().address().toString();
      List<String> statuses = statusesOf(members, joined, "up");
      assertEquals("up", statuses.get(statuses.size() - 1), statuses.toString());
      assertTrue(statuses.indexOf("joining") <= 0, statuses.toString());

      // a change through the first node reaches the second node's subscribers
      ActorTestKit secondKit = ActorTestKit.create(second.system());
      TestProbe<EventHub.Delivery> changes = secondKit.createTestProbe();
      TestProbe<EventHub.Subscribed> subscribed = secondKit.createTestProbe();
      second.eventHub().tell(new EventHub.Subscribe(changes.getRef(), EventFilter.kinds(FulcrumEvent.Kind.POOL_CHANGED).withPools("cross"), 100,
          Optional.of(subscribed.getRef())));
      subscribed.expectMessageClass(EventHub.Subscribed.class);
      long createdOffset;
      try (SseClient sse = SseClient.open(first.adminAddress(), "/api/events?pools=cross&kinds=pool-changed", Optional.empty())) {
        sse.awaitComment("subscribed", WAIT);
        create(first, "cross");
        EventHub.Delivery d = changes.expectMessageClass(EventHub.Delivery.class, WAIT);
        d.ack();
        FulcrumEvent.PoolChanged created = (FulcrumEvent.PoolChanged) d.events().get(0);
        assertEquals(List.of("cross", 1L, "pool-created", "cluster-events-test"),
            List.of(created.pool(), created.version(), created.type(), created.origin()));
        SseClient.Message onFirst = sse.nextEvent(WAIT);
        assertEquals(Long.toString(created.offset()), onFirst.id(), "the same id on every node");
        createdOffset = created.offset();
      }
      // resuming on the other node with that id: what was written since, from the journal
      change(first, "cross", (r, to) -> new PoolEntity.SetStrategy(StrategyKind.LEAST_CONNECTIONS, r, to));
      EventHub.Delivery next = changes.expectMessageClass(EventHub.Delivery.class, WAIT);
      next.ack();
      FulcrumEvent.PoolChanged strategy = (FulcrumEvent.PoolChanged) next.events().get(0);
      try (SseClient resumed = SseClient.open(second.adminAddress(), "/api/events?pools=cross", Optional.of(Long.toString(createdOffset)))) {
        SseClient.Message m = resumed.nextEvent(WAIT);
        assertEquals(Long.toString(strategy.offset()), m.id(), m.toString());
        assertTrue(m.data().contains("\"strategy-changed\""), m.toString());
      }

      second.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
      second = null;
      List<String> leaving = statusesOf(members, joined, "removed");
      // a graceful leave: leaving, exiting, removed (a status may be folded into the next by gossip)
      assertEquals("removed", leaving.get(leaving.size() - 1), leaving.toString());
      // reachability may blink on a loaded machine; the membership statuses follow the graceful order
      List<String> membership = leaving.stream().filter(x -> !x.equals("unreachable") && !x.equals("reachable")).toList();
      List<String> order = List.of("leaving", "exiting", "removed");
      for (int i = 1; i < membership.size(); i++) {
        assertTrue(order.indexOf(membership.get(i - 1)) >= 0 && order.indexOf(membership.get(i - 1)) < order.indexOf(membership.get(i)),
            leaving.toString());
      }
    } finally {
      if (second != null) second.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
      first.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  private static void create(Fulcrum node, String pool) throws Exception {
    change(node, pool, (r, to) -> new PoolEntity.Create(StrategyKind.ROUND_ROBIN, List.of(), Optional.empty(), r, to));
  }

  private static void change(Fulcrum node, String pool,
      java.util.function.BiFunction<PoolEntity.Request, org.apache.pekko.actor.typed.ActorRef<PoolEntity.Reply>, PoolEntity.Change> command)
      throws Exception {
    PoolEntity.Reply reply = node.change(pool, PoolEntity.Request.of("cluster-events-test", Duration.ofSeconds(4)), command)
        .toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertTrue(reply instanceof PoolEntity.Ok, reply.toString());
  }

  /** The member's statuses in the order they came, up to and including {@code last}; other members' are skipped. */
  private static List<String> statusesOf(TestProbe<EventHub.Delivery> probe, String member, String last) {
    List<String> statuses = new ArrayList<>();
    while (!statuses.contains(last)) {
      EventHub.Delivery d = probe.expectMessageClass(EventHub.Delivery.class, WAIT);
      for (FulcrumEvent e : d.events()) {
        FulcrumEvent.MemberChanged m = (FulcrumEvent.MemberChanged) e;
        assertFalse(m.self() && m.member().equals(member), "the joiner is not the subscriber's own node: " + m);
        if (m.member().equals(member)) statuses.add(m.status());
      }
      d.ack();
    }
    return statuses;
  }

  private static com.typesafe.config.Config config(int port, int seedPort, String journal) {
    return TestConfig.of(FastCluster.SETTINGS + """
        pekko.remote.artery.canonical.port = %d
        pekko.cluster.seed-nodes = ["pekko://fulcrum@127.0.0.1:%d"]
        pekko-persistence-jdbc.shared-databases.fulcrum.db.url = "%s"
        """.formatted(port, seedPort, journal));
  }
}
