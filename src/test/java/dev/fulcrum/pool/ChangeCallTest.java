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
 * Manual time holds the give-up back while real time passes, as a stopped process's would be.
 */
class ChangeCallTest {
  private static final ActorTestKit KIT = ActorTestKit.create(ManualTime.config());
  private static final ManualTime TIME = ManualTime.get(KIT.system());

  record Change(PoolEntity.Request request, ActorRef<String> replyTo) {}

  @AfterAll
  static void stop() {
    KIT.shutdownTestKit();
  }

  private static CompletableFuture<ChangeCall.Heard<String>> call(TestProbe<Change> entity, Duration wait) {
    CompletableFuture<ChangeCall.Heard<String>> heard = new CompletableFuture<>();
    KIT.spawn(ChangeCall.create(TestEntityRef.of(EntityTypeKey.create(Change.class, "test"), "e", entity.ref()),
        PoolEntity.Request.of("test", Duration.ofSeconds(5)), Change::new, String.class, wait, heard));
    entity.expectMessageClass(Change.class);
    return heard;
  }

  @Test
  void aGiveUpOnTimeIsNotAPause() throws Exception {
    TestProbe<Change> entity = KIT.createTestProbe();
    CompletableFuture<ChangeCall.Heard<String>> heard = call(entity, Duration.ofMillis(100));
    TIME.timePasses(Duration.ofMillis(100));
    ChangeCall.Heard<String> h = heard.get(10, TimeUnit.SECONDS);
    assertEquals(Optional.empty(), h.reply());
    assertFalse(h.started());
    assertFalse(h.paused());
    assertEquals("while a cluster member was unreachable or leaving", h.silence());
  }

  @Test
  void aGiveUpLongAfterItWasDueSaysTheNodeWasPaused() throws Exception {
    TestProbe<Change> entity = KIT.createTestProbe();
    CompletableFuture<ChangeCall.Heard<String>> heard = call(entity, Duration.ofMillis(100));
    // the node "stops": its timer cannot fire while real time goes on past the give-up and then some
    LockSupport.parkNanos(Duration.ofMillis(100).plus(ChangeCall.LATE).plusMillis(300).toNanos());
    TIME.timePasses(Duration.ofMillis(100));
    ChangeCall.Heard<String> h = heard.get(10, TimeUnit.SECONDS);
    assertFalse(h.started());
    assertTrue(h.paused());
    assertEquals("while this node was paused", h.silence());
  }

  @Test
  void aReplyIsHeardWhateverTheTime() throws Exception {
    TestProbe<Change> entity = KIT.createTestProbe();
    CompletableFuture<ChangeCall.Heard<String>> heard = new CompletableFuture<>();
    KIT.spawn(ChangeCall.create(TestEntityRef.of(EntityTypeKey.create(Change.class, "test"), "e", entity.ref()),
        PoolEntity.Request.of("test", Duration.ofSeconds(5)), Change::new, String.class, Duration.ofMillis(100), heard));
    Change change = entity.expectMessageClass(Change.class);
    change.request().startedTo().orElseThrow().tell(new PoolEntity.Started("p"));
    change.replyTo().tell("ok");
    ChangeCall.Heard<String> h = heard.get(10, TimeUnit.SECONDS);
    assertEquals(Optional.of("ok"), h.reply());
    assertFalse(h.paused());
  }
}
