package dev.fulcrum.observe;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.ref.WeakReference;

/**
 * The access-log lines of one thread (an event loop, a Pekko dispatcher thread) on their way to the writer thread: a
 * ring of bytes with one producer, its owner, and one consumer, the writer, as each nginx worker buffers its own log
 * lines. A line is made in the thread's scratch buffer, copied into the ring behind the lines before it and published
 * with one store; the writer hands whole runs of lines to the file, straight from the ring. Nothing is shared between
 * producers, nothing is allocated per line, and the lines of one request stay in the cache of the core that served it
 * until the writer reads them in order, where a ring of slots made each line cost several transfers of scattered
 * cache lines between the cores (measured in load-tests/README.md). A line that does not fit is dropped and counted:
 * the producer never waits.
 */
final class LineRing {
  private static final VarHandle TAIL;
  private static final VarHandle HEAD;
  private static final VarHandle LINES;
  private static final VarHandle DROPPED;

  static {
    try {
      MethodHandles.Lookup lookup = MethodHandles.lookup();
      TAIL = lookup.findVarHandle(LineRing.class, "tail", long.class);
      HEAD = lookup.findVarHandle(LineRing.class, "head", long.class);
      LINES = lookup.findVarHandle(LineRing.class, "lines", long.class);
      DROPPED = lookup.findVarHandle(LineRing.class, "dropped", long.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  /** A scratch buffer grown past this (a long path or request id) is given back after its line. */
  private static final int LINE_BYTES_KEPT = 2048;
  private static final int LINE_BYTES = 256;

  private final byte[] bytes;
  private final int mask;
  private final WeakReference<Thread> owner;

  // written by the producer only
  /** Bytes published (the writer reads it with acquire: the lines' bytes before it are whole). */
  private long tail;
  /** Lines published, stored after the tail that covers them. */
  private long lines;
  private long dropped;
  /** The writer's head as the producer last saw it: it only moves on, so space it showed is still free. */
  private long knownHead;

  // written by the consumer only
  /** Bytes the writer has handed to the file: the producer may overwrite what is before it. */
  private long head;
  private long linesTaken;

  /** The producer's: the request's values, the format that makes the line of them, and the line. */
  final AccessRecord record = new AccessRecord(this);
  final LineFormat format;
  LineBuffer line = new LineBuffer(LINE_BYTES);

  /** A ring of at least {@code capacity} bytes (a power of two), for the lines of {@code owner}. */
  LineRing(int capacity, Thread owner, LineFormat format) {
    this.format = format;
    int size = size(capacity);
    bytes = new byte[size];
    mask = size - 1;
    this.owner = new WeakReference<>(owner);
  }

  /** The bytes of a ring made for {@code capacity}: a power of two, at least 512. */
  static int size(int capacity) {
    return capacity <= 512 ? 512 : Integer.highestOneBit(capacity - 1) << 1;
  }

  int capacity() {
    return bytes.length;
  }

  /**
   * By the owner: appends the scratch line, or drops and counts it when the writer has not made room for it. The
   * publishing store is volatile, not only a release: the caller then reads whether the writer sleeps, which must not
   * move before it. Returns the ring's new tail, or -1 when the line was dropped.
   */
  long offer(LineBuffer line) {
    int n = line.length;
    long t = tail;
    if (t + n - knownHead > bytes.length) {
      knownHead = (long) HEAD.getAcquire(this);
      if (t + n - knownHead > bytes.length) {
        DROPPED.setOpaque(this, dropped + 1);
        return -1;
      }
    }
    int at = (int) t & mask;
    int first = Math.min(n, bytes.length - at);
    System.arraycopy(line.bytes, 0, bytes, at, first);
    if (first < n) System.arraycopy(line.bytes, first, bytes, 0, n - first);
    TAIL.setVolatile(this, t + n);
    LINES.setRelease(this, lines + 1);
    return t + n;
  }

  /** By the owner, after a line: a scratch buffer a long line grew is given back. */
  void lineDone() {
    line.length = 0;
    if (line.bytes.length > LINE_BYTES_KEPT) line = new LineBuffer(LINE_BYTES);
  }

  /** Whether lines wait for the writer. */
  boolean ready() {
    return (long) TAIL.getVolatile(this) != head;
  }

  /**
   * By the writer: hands every published line to {@code out} (at most two writes, where the ring wraps) and frees
   * their room; the number of lines. The count is read before the tail, so it never counts a line not yet written (it
   * may lag: the rest is counted next time).
   */
  int drainTo(OutputStream out) throws IOException {
    long published = (long) LINES.getAcquire(this);
    long t = (long) TAIL.getAcquire(this);
    long h = head;
    if (t != h) {
      int at = (int) h & mask;
      int n = (int) (t - h);
      int first = Math.min(n, bytes.length - at);
      out.write(bytes, at, first);
      if (first < n) out.write(bytes, 0, n - first);
      HEAD.setRelease(this, t);
    }
    int taken = (int) (published - linesTaken);
    linesTaken = published;
    return taken;
  }

  /** By the writer, when a write failed: the lines are given up, so that the producer is not blocked by them. */
  void skip() {
    HEAD.setRelease(this, (long) TAIL.getAcquire(this));
    linesTaken = (long) LINES.getAcquire(this);
  }

  long dropped() {
    return (long) DROPPED.getOpaque(this);
  }

  /** Whether the owner is gone and nothing waits: the writer forgets the ring. */
  boolean abandoned() {
    Thread t = owner.get();
    return (t == null || !t.isAlive()) && !ready();
  }
}
