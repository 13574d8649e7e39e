package dev.fulcrum.routing;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The load counters (connections plus requests in flight) of all backends of one pool, side by side in memory, plus
 * their total.
 *
 * <p>Side by side, because least connections scans every backend on each pick: reading one int per backend from a few
 * arrays is several times cheaper than following a pointer to each backend's own counter object. The total lets
 * consistent hashing with bounded loads read the pool's load in O(1). It includes backends not currently in the table
 * (draining, down) that still have work open.
 *
 * <p>Each backend gets a slot for life. Slots live in fixed-size chunks that never move, so a counter can be updated
 * while the pool grows; only the array of chunks is copied. Slots are handed out by the pool's router, the single
 * writer of the pool's structure, and are not reused: a backend removed while connections are still open keeps
 * counting into its own slot.
 */
final class PoolLoad {
  static final int CHUNK_BITS = 10;
  static final int CHUNK_MASK = (1 << CHUNK_BITS) - 1;
  private static final VarHandle COUNTER = MethodHandles.arrayElementVarHandle(int[].class);

  private final AtomicInteger total = new AtomicInteger();
  private volatile int[][] chunks = new int[1][1 << CHUNK_BITS];
  private int slots;

  /** A new counter slot; called only by the pool's router (or a test building a table). */
  int allocate() {
    int slot = slots++;
    int[][] current = chunks;
    if (slot >>> CHUNK_BITS == current.length) {
      int[][] grown = Arrays.copyOf(current, current.length * 2);
      for (int i = current.length; i < grown.length; i++) grown[i] = new int[1 << CHUNK_BITS];
      chunks = grown;
    }
    return slot;
  }

  /** The chunks as they are now; they hold every slot allocated so far, and always will. */
  int[][] chunks() {
    return chunks;
  }

  void add(int slot, int delta) {
    COUNTER.getAndAdd(chunks[slot >>> CHUNK_BITS], slot & CHUNK_MASK, delta);
    total.getAndAdd(delta);
  }

  int load(int slot) {
    return load(chunks, slot);
  }

  static int load(int[][] chunks, int slot) {
    return (int) COUNTER.getOpaque(chunks[slot >>> CHUNK_BITS], slot & CHUNK_MASK);
  }

  int total() {
    return total.get();
  }
}
