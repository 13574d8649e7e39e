package dev.fulcrum.observe;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * A bounded ring of preallocated {@link AccessRecord} slots between the event loops (many producers) and the access
 * log's writer thread (one consumer): Dmitry Vyukov's bounded queue, where each slot's sequence number says whose turn
 * it is. A producer claims a slot with one compare-and-set, fills it with plain writes and publishes it with one
 * release store; nothing is allocated, nothing waits. A full ring refuses the line, which is counted as dropped.
 */
final class AccessRing {
  private final AccessRecord[] slots;
  private final AtomicLongArray sequences;
  private final int mask;
  private final AtomicLong tail = new AtomicLong();
  /** Read and written by the consumer only. */
  private long head;
  private final LongAdder dropped = new LongAdder();

  AccessRing(int capacity) {
    int size = capacity <= 2 ? 2 : Integer.highestOneBit(capacity - 1) << 1;
    slots = new AccessRecord[size];
    sequences = new AtomicLongArray(size);
    for (int i = 0; i < size; i++) {
      slots[i] = new AccessRecord(i);
      sequences.set(i, i);
    }
    mask = size - 1;
  }

  int capacity() {
    return slots.length;
  }

  /**
   * A slot to fill and then {@link #publish}, or null when the ring is full (the line is counted as dropped). Between
   * the two calls the slot is the caller's alone.
   */
  AccessRecord claim() {
    long position = tail.get();
    while (true) {
      int index = (int) position & mask;
      long difference = sequences.get(index) - position;
      if (difference == 0) {
        if (tail.compareAndSet(position, position + 1)) {
          AccessRecord slot = slots[index];
          slot.position = position;
          return slot;
        }
        position = tail.get();
      } else if (difference < 0) {
        dropped.increment();
        return null;
      } else {
        position = tail.get();
      }
    }
  }

  /**
   * Hands a claimed slot to the consumer. A volatile write, not only a release: the caller's next read (whether the
   * consumer sleeps) must not move before it.
   */
  void publish(AccessRecord slot) {
    sequences.set(slot.index, slot.position + 1);
  }

  /** The next published slot for the consumer, or null when none is ready; {@link #release} it when done. */
  AccessRecord poll() {
    int index = (int) head & mask;
    if (sequences.getAcquire(index) != head + 1) return null;
    return slots[index];
  }

  /** The consumer is done with the slot {@link #poll} gave: producers may claim it again. */
  void release(AccessRecord slot) {
    slot.release();
    sequences.setRelease((int) head & mask, head + mask + 1);
    head++;
  }

  /** Whether a published slot waits for the consumer (a hint: producers may be filling others). */
  boolean ready() {
    return sequences.get((int) head & mask) == head + 1;
  }

  long dropped() {
    return dropped.sum();
  }
}
