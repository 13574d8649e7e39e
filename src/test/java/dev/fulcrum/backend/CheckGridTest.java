package dev.fulcrum.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.nio.EventLoop;
import dev.fulcrum.nio.EventLoops;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** Checks due in the same slot share one loop timer, and each hears its slot once, not before it. */
class CheckGridTest {
  private static final EventLoops loops = new EventLoops("check-grid-test", 1);

  @AfterAll
  static void stop() {
    loops.stop();
  }

  @Test
  void aThousandMembersOverFortySlotsCostFortyTimersAndEachIsWokenOnceAtItsSlot() throws Exception {
    EventLoop loop = loops.all()[0];
    long tick = TimeUnit.MILLISECONDS.toNanos(5);
    int members = 1000;
    int slots = 40;
    AtomicInteger woken = new AtomicInteger();
    ConcurrentLinkedQueue<String> wrong = new ConcurrentLinkedQueue<>();
    CompletableFuture<Integer> pending = new CompletableFuture<>();
    CompletableFuture<Void> allWoken = new CompletableFuture<>();
    loop.execute(() -> {
      CheckGrid grid = new CheckGrid(loop, tick);
      long first = grid.slotAt(loop.now()) + 2;
      for (int i = 0; i < members; i++) {
        long slot = first + i % slots;
        AtomicInteger heard = new AtomicInteger();
        grid.add(slot, at -> {
          if (at != slot) wrong.add("woken at " + at + " for " + slot);
          if (System.nanoTime() < slot * tick - tick) wrong.add("woken early for " + slot);
          if (heard.incrementAndGet() > 1) wrong.add("woken twice for " + slot);
          if (woken.incrementAndGet() == members) allWoken.complete(null);
        });
      }
      pending.complete(grid.pending());
    });
    assertEquals(slots, pending.get(5, TimeUnit.SECONDS), "one bucket (one loop timer) per slot");
    allWoken.get(5, TimeUnit.SECONDS);
    assertTrue(wrong.isEmpty(), wrong.toString());
    assertEquals(members, woken.get());
  }

  @Test
  void slotsRoundUp() {
    CheckGrid grid = new CheckGrid(null, 10);
    assertEquals(0, grid.slotAt(0));
    assertEquals(1, grid.slotAt(1));
    assertEquals(1, grid.slotAt(10));
    assertEquals(-1, grid.slotAt(-10));
    assertEquals(0, grid.slotAt(-9));
    assertEquals(Duration.ofMillis(50).toNanos() / 10, new CheckGrid(null, Duration.ofMillis(50).toNanos() / 10).tick());
  }
}
