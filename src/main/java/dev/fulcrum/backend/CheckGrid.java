package dev.fulcrum.backend;

import dev.fulcrum.nio.EventLoop;
import java.util.ArrayDeque;
import java.util.ArrayList;

/**
 * The moments one event loop's health checks start and time out, on a grid of {@code tick}: everything due in a slot
 * of the grid shares one loop timer (a bucket), rather than each check arming a timer of its own for its start, its
 * connect and its response. A thousand backends every two seconds then cost a loop's timer queue some forty entries
 * instead of a thousand or more, and a wake-up starts a few dozen checks at once. Loop thread only; nothing here
 * allocates once the buckets of a steady schedule exist.
 */
final class CheckGrid {
  /** Something that asked to be woken at a slot; it works out itself whether it still cares (entries are not removed). */
  interface Member {
    void due(long slot);
  }

  private static final int TABLE = 256;

  private final EventLoop loop;
  private final long tick;
  /** Pending buckets by slot, chained; a handful are live at a time. */
  private final Bucket[] table = new Bucket[TABLE];
  private final ArrayDeque<Bucket> spare = new ArrayDeque<>();

  CheckGrid(EventLoop loop, long tickNanos) {
    this.loop = loop;
    this.tick = tickNanos;
  }

  long tick() {
    return tick;
  }

  /** The first slot at or after {@code nanos} (in {@link EventLoop#now()}'s time). */
  long slotAt(long nanos) {
    return Math.floorDiv(nanos, tick) + (Math.floorMod(nanos, tick) == 0 ? 0 : 1);
  }

  /** {@code member} hears {@link Member#due} at {@code slot} (or at once if that has passed). */
  void add(long slot, Member member) {
    int index = (int) Math.floorMod(slot, (long) TABLE);
    Bucket bucket = table[index];
    while (bucket != null && bucket.slot != slot) bucket = bucket.next;
    if (bucket == null) {
      bucket = spare.isEmpty() ? new Bucket() : spare.pollLast();
      bucket.slot = slot;
      bucket.next = table[index];
      table[index] = bucket;
      loop.schedule(Math.max(0, slot * tick - loop.now()), bucket);
    }
    bucket.members.add(member);
  }

  /** Buckets waiting for their slot. */
  int pending() {
    int n = 0;
    for (Bucket head : table) {
      for (Bucket b = head; b != null; b = b.next) n++;
    }
    return n;
  }

  private void unlink(Bucket bucket) {
    int index = (int) Math.floorMod(bucket.slot, (long) TABLE);
    if (table[index] == bucket) {
      table[index] = bucket.next;
    } else {
      Bucket b = table[index];
      while (b.next != bucket) b = b.next;
      b.next = bucket.next;
    }
    bucket.next = null;
  }

  private final class Bucket implements Runnable {
    private final ArrayList<Member> members = new ArrayList<>();
    private long slot;
    private Bucket next;

    @Override
    public void run() {
      // unlinked first: a member that asks for this same slot again gets a new bucket (run on the loop's next turn)
      unlink(this);
      for (int i = 0; i < members.size(); i++) {
        Member member = members.get(i);
        members.set(i, null);
        try {
          member.due(slot);
        } catch (RuntimeException e) {
          // one backend's bug must not take the others' checks in this slot with it
          org.slf4j.LoggerFactory.getLogger(CheckGrid.class).error("a health check failed at its slot", e);
        }
      }
      members.clear();
      if (spare.size() < TABLE) spare.addLast(this);
    }
  }
}
