package dev.fulcrum.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ManualTime;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.cluster.sharding.typed.testkit.javadsl.TestEntityRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * A change's call without an answer: on time it tells whether the entity began writing; when this node was paused
 * past the give-up (its timer fired late), it says so, for the caller must not then claim the change never started.
 * Manual time holds the give-up back while real time passes, as a stopped process's would be. After its give-up a call
 * still takes the entity's answers that were queued behind it (a node resumed from a short pause).
 */
class ChangeCallTest {
  private static final ActorTestKit KIT = ActorTestKit.create(ManualTime.config());
  private static final ManualTime TIME = ManualTime.get(KIT.system());

  record Change(PoolEntity.Request request, ActorRef<String> replyTo) {}

  @AfterAll
  static void stop() {
    KIT.shutdownTestKit();
  }

  private static final Duration WAIT = Duration.ofSeconds(1);
  private static final Duration GIVE_UP = WAIT.minus(ChangeCall.LAST_LOOK);

  private static CompletableFuture<ChangeCall.Heard<String>> call(TestProbe<Change> entity) {
    CompletableFuture<ChangeCall.Heard<String>> heard = new CompletableFuture<>();
    KIT.spawn(ChangeCall.create(TestEntityRef.of(EntityTypeKey.create(Change.class, "test"), "e", entity.ref()),
        PoolEntity.Request.of("test", Duration.ofSeconds(5)), Change::new, String.class, WAIT, heard));
    return heard;
  }

  /** Lets manual time pass in small steps (the last look's timer is set when the give-up is handled) until the call ends. */
  private static ChangeCall.Heard<String> lastLookEnds(CompletableFuture<ChangeCall.Heard<String>> heard) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (!heard.isDone() && System.nanoTime() < deadline) {
      TIME.timePasses(Duration.ofMillis(50));
      LockSupport.parkNanos(Duration.ofMillis(10).toNanos());
    }
    return heard.get(1, TimeUnit.SECONDS);
  }

  @Test
  void aGiveUpOnTimeIsNotAPause() throws Exception {
    TestProbe<Change> entity = KIT.createTestProbe();
    CompletableFuture<ChangeCall.Heard<String>> heard = call(entity);
    entity.expectMessageClass(Change.class);
    TIME.timePasses(GIVE_UP);
    ChangeCall.Heard<String> h = lastLookEnds(heard);
    assertEquals(Optional.empty(), h.reply());
    assertFalse(h.started());
    assertFalse(h.paused());
    assertEquals("while a cluster member was unreachable or leaving", h.silence());
  }

  @Test
  void aGiveUpLongAfterItWasDueSaysTheNodeWasPaused() throws Exception {
    TestProbe<Change> entity = KIT.createTestProbe();
    CompletableFuture<ChangeCall.Heard<String>> heard = call(entity);
    entity.expectMessageClass(Change.class);
    // the node "stops": its timer cannot fire while real time goes on past the give-up and then some
    LockSupport.parkNanos(GIVE_UP.plus(ChangeCall.LATE).plusMillis(300).toNanos());
    TIME.timePasses(GIVE_UP);
    ChangeCall.Heard<String> h = lastLookEnds(heard);
    assertFalse(h.started());
    assertTrue(h.paused());
    assertEquals("while this node was paused", h.silence());
  }

  @Test
  void aReplyQueuedBehindTheGiveUpIsStillHeard() throws Exception {
    TestProbe<Change> entity = KIT.createTestProbe();
    CompletableFuture<ChangeCall.Heard<String>> heard = call(entity);
    Change change = entity.expectMessageClass(Change.class);
    // A node resumed from a short pause: its overdue give-up is handled first, the entity's answers right behind it.
    TIME.timePasses(GIVE_UP);
    change.request().startedTo().orElseThrow().tell(new PoolEntity.Started("p"));
    change.replyTo().tell("ok");
    ChangeCall.Heard<String> h = heard.get(10, TimeUnit.SECONDS);
    assertEquals(Optional.of("ok"), h.reply());
  }

  @Test
  void aReplyIsHeardWhateverTheTime() throws Exception {
    TestProbe<Change> entity = KIT.createTestProbe();
    CompletableFuture<ChangeCall.Heard<String>> heard = call(entity);
    Change change = entity.expectMessageClass(Change.class);
    change.request().startedTo().orElseThrow().tell(new PoolEntity.Started("p"));
    change.replyTo().tell("ok");
    ChangeCall.Heard<String> h = heard.get(10, TimeUnit.SECONDS);
    assertEquals(Optional.of("ok"), h.reply());
    assertFalse(h.paused());
  }
}
