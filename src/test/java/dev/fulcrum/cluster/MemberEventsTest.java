package dev.fulcrum.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.events.EventFilter;
import dev.fulcrum.events.EventHub;
import dev.fulcrum.events.FulcrumEvent;
import dev.fulcrum.testing.FastCluster;
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

/** A node's subscribers hear of another node joining the cluster and leaving it, in that order. */
class MemberEventsTest {
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

      second.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
      second = null;
      List<String> leaving = statusesOf(members, joined, "removed");
      // a graceful leave: leaving, exiting, removed (a status may be folded into the next by gossip)
      assertEquals("removed", leaving.get(leaving.size() - 1), leaving.toString());
      assertFalse(leaving.contains("up") || leaving.contains("unreachable"), leaving.toString());
    } finally {
      if (second != null) second.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
      first.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
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
