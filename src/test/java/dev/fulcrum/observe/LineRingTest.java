package dev.fulcrum.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A thread's ring of access-log lines: lines come out whole and in order across the ring's end, a line that does not
 * fit is dropped and counted while the rest go on, the line count never runs ahead of the bytes, and one producer and
 * the writer running at once lose nothing they accepted.
 */
class LineRingTest {
  private static LineBuffer line(String text) {
    LineBuffer b = new LineBuffer(8);
    b.text(text);
    return b;
  }

  private static String drain(LineRing ring, int[] lines) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    lines[0] += ring.drainTo(out);
    return out.toString(StandardCharsets.UTF_8);
  }

  @Test
  void sizeIsAPowerOfTwoOfAtLeast512() {
    assertEquals(512, LineRing.size(1));
    assertEquals(1024, LineRing.size(513));
    assertEquals(1 << 20, LineRing.size(8192 * AccessLog.LINE_BYTES));
  }

  @Test
  void linesComeOutWholeAndInOrderAcrossTheRingsEnd() throws Exception {
    LineRing ring = new LineRing(512, Thread.currentThread(), null);
    int[] lines = {0};
    StringBuilder all = new StringBuilder();
    StringBuilder expected = new StringBuilder();
    // 37-byte lines do not divide 512: every position of the wrap is met within a few rounds
    for (int i = 0; i < 1000; i++) {
      String text = String.format("line %05d %s\n", i, "x".repeat(25));
      expected.append(text);
      assertTrue(ring.offer(line(text)) > 0);
      if (i % 7 == 6) all.append(drain(ring, lines));
    }
    all.append(drain(ring, lines));
    assertEquals(expected.toString(), all.toString());
    assertEquals(1000, lines[0]);
    assertFalse(ring.ready());
    assertEquals(0, ring.dropped());
  }

  @Test
  void aLineThatDoesNotFitIsDroppedAndCountedAndTheRestGoOn() throws Exception {
    LineRing ring = new LineRing(512, Thread.currentThread(), null);
    String hundred = "y".repeat(99) + "\n";
    for (int i = 0; i < 5; i++) assertTrue(ring.offer(line(hundred)) > 0);
    assertEquals(-1, ring.offer(line(hundred)), "12 bytes left");
    assertEquals(-1, ring.offer(line("z".repeat(600))), "longer than the ring");
    assertTrue(ring.offer(line("short\n")) > 0, "a line that fits still goes in");
    assertEquals(2, ring.dropped());
    int[] lines = {0};
    assertEquals(hundred.repeat(5) + "short\n", drain(ring, lines));
    assertEquals(6, lines[0]);
    assertTrue(ring.offer(line(hundred)) > 0, "room again once the writer took the lines");
  }

  @Test
  void aRingOfAThreadThatIsGoneIsAbandonedOnlyOnceEmpty() throws Exception {
    Thread gone = new Thread(() -> {});
    gone.start();
    gone.join();
    LineRing ring = new LineRing(512, gone, null);
    ring.offer(line("last words\n"));
    assertFalse(ring.abandoned(), "its lines still wait");
    drain(ring, new int[1]);
    assertTrue(ring.abandoned());
    assertFalse(new LineRing(512, Thread.currentThread(), null).abandoned(), "a live thread's ring stays");
  }

  @Test
  void aProducerAndTheWriterAtOnceLoseNothingThatWasAccepted() throws Exception {
    LineRing ring = new LineRing(1024, null, null);
    int total = 200_000;
    Thread producer = new Thread(() -> {
      for (int i = 0; i < total; i++) {
        while (ring.offer(line(i + "\n")) < 0) Thread.onSpinWait(); // retried here, to check every line's order
      }
    });
    producer.start();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    long lines = 0;
    while (producer.isAlive() || ring.ready()) {
      int n = ring.drainTo(out);
      lines += n;
      if (n == 0) Thread.onSpinWait();
    }
    lines += ring.drainTo(out);
    List<String> got = out.toString(StandardCharsets.US_ASCII).lines().toList();
    assertEquals(total, got.size());
    for (int i = 0; i < total; i++) assertEquals(Integer.toString(i), got.get(i));
    assertEquals(total, lines, "the count caught up with the bytes");
  }
}
