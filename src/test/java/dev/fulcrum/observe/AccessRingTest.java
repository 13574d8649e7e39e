package dev.fulcrum.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

/** The access log's ring: order, a full ring drops and counts, slots come back, and many producers lose nothing. */
class AccessRingTest {
  @Test
  void capacityIsAPowerOfTwoAtLeastAsLargeAsAsked() {
    assertEquals(16, new AccessRing(16).capacity());
    assertEquals(32, new AccessRing(17).capacity());
    assertEquals(2, new AccessRing(1).capacity());
  }

  @Test
  void linesComeOutInOrderAndAFullRingDropsAndCounts() {
    AccessRing ring = new AccessRing(4);
    for (int i = 0; i < 4; i++) {
      AccessRecord r = ring.claim();
      assertNotNull(r);
      r.status = i;
      ring.publish(r);
    }
    assertNull(ring.claim(), "full");
    assertNull(ring.claim(), "still full");
    assertEquals(2, ring.dropped());
    for (int i = 0; i < 4; i++) {
      AccessRecord r = ring.poll();
      assertEquals(i, r.status);
      ring.release(r);
    }
    assertNull(ring.poll());
    assertTrue(!ring.ready());
  }

  @Test
  void aClaimedSlotIsNotSeenBeforeItIsPublished() {
    AccessRing ring = new AccessRing(4);
    AccessRecord first = ring.claim();
    AccessRecord second = ring.claim();
    second.status = 2;
    ring.publish(second);
    assertNull(ring.poll(), "the first is not published: the second waits behind it");
    first.status = 1;
    ring.publish(first);
    AccessRecord r = ring.poll();
    assertEquals(1, r.status);
    ring.release(r);
    r = ring.poll();
    assertEquals(2, r.status);
    ring.release(r);
  }

  @Test
  void releasedSlotsAreReusedAroundTheRingAndForgetTheirValues() {
    AccessRing ring = new AccessRing(2);
    for (int i = 0; i < 1000; i++) {
      AccessRecord r = ring.claim();
      assertNull(r.target, "a released slot keeps no request's strings");
      r.target = "/" + i;
      ring.publish(r);
      AccessRecord out = ring.poll();
      assertEquals("/" + i, out.target);
      ring.release(out);
    }
    assertEquals(0, ring.dropped());
  }

  @Test
  void aSlotGivesBackTheLineBufferALongLineGrew() {
    AccessRing ring = new AccessRing(2);
    AccessRecord r = ring.claim();
    int small = r.line.bytes.length;
    r.line.text("x".repeat(10_000));
    ring.publish(r);
    ring.release(ring.poll());
    assertEquals(0, r.line.length);
    assertEquals(small, r.line.bytes.length, "a released slot keeps no long line's buffer");
  }

  @Test
  void manyProducersOneConsumerLoseNothingThatWasAccepted() throws Exception {
    AccessRing ring = new AccessRing(64);
    int producers = 4;
    int each = 50_000;
    CountDownLatch go = new CountDownLatch(1);
    List<Thread> threads = new ArrayList<>();
    for (int p = 0; p < producers; p++) {
      int id = p;
      Thread t = new Thread(() -> {
        try {
          go.await();
        } catch (InterruptedException e) {
          return;
        }
        for (int i = 0; i < each; i++) {
          AccessRecord r = ring.claim();
          if (r == null) continue; // dropped, counted by the ring
          r.status = id * each + i;
          ring.publish(r);
        }
      });
      t.start();
      threads.add(t);
    }
    BitSet seen = new BitSet(producers * each);
    long received = 0;
    go.countDown();
    while (threads.stream().anyMatch(Thread::isAlive) || ring.ready()) {
      AccessRecord r = ring.poll();
      if (r == null) {
        Thread.onSpinWait();
        continue;
      }
      assertTrue(!seen.get(r.status), "line " + r.status + " twice");
      seen.set(r.status);
      received++;
      ring.release(r);
    }
    assertEquals((long) producers * each, received + ring.dropped());
  }
}
