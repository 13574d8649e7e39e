package dev.fulcrum.observe;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.FileAppender;
import ch.qos.logback.core.encoder.EncoderBase;
import dev.fulcrum.config.ObservabilitySettings;
import java.io.IOException;
import java.io.OutputStream;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;
import org.slf4j.LoggerFactory;

/**
 * The access log of one node. Each thread that serves requests (an event loop, a Pekko dispatcher thread) makes its
 * lines itself, as nginx's workers do, into a {@link LineRing} of its own: a line is formatted where the request's
 * values are still in the core's cache, and costs no lock, no compare-and-set and no system call. One writer thread
 * hands the rings' bytes to a Logback {@link FileAppender}'s stream, a whole run of lines per write. When a thread's
 * ring is full its line is dropped and counted: a slow or stuck disk costs lines, never latency.
 *
 * <p>Why not Logback's AsyncAppender: it costs a logging event, a lock and, when its worker sleeps, a wake-up per line,
 * several microseconds of CPU for every request, more than the rest of the proxying. Here the writer is woken at most
 * once per batch: after writing it lingers, looking again every {@link #LINGER_NANOS}, so that under load the threads
 * do not have to wake it, and only after a quiet spell does it sleep until a line comes. Each look costs a wake-up and
 * a write system call, shared by the lines it finds; a thread nudges the writer when an eighth of its ring has filled
 * since, so that the linger does not let a fast thread fill its ring.
 */
final class AccessLog {
  private static final AtomicInteger NODES = new AtomicInteger();
  /**
   * How long the writer waits between looks while lines keep coming. Each look costs a wake-up and a write system
   * call, shared by the lines it finds: measured under L7 keep-alive load (~20k req/s), the writer spent 2.6 µs per
   * line looking every 1 ms, 1.8 µs every 5 ms, 1.6 µs every 10 ms (when it still formatted the lines itself), and on a
   * busy machine (~5k req/s) 4-8 µs per line every 5 ms (load-tests/README.md). A line is on its way to the file for
   * at most this long. 25 ms dropped lines on a busy machine (a woken writer may wait long for a core): 10 ms with the
   * nudges did not ({@link #publish}).
   */
  private static final long LINGER_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
  /** Looks that found nothing (100 ms) before the writer sleeps until it is woken. */
  private static final int LINGER_LOOKS = 10;
  /** A safety net: a sleeping writer looks again this often, whatever happens. */
  private static final long SLEEP_NANOS = TimeUnit.MILLISECONDS.toNanos(200);
  /** The room a line takes on average, by which queue-size (in lines) becomes a ring's bytes. */
  static final int LINE_BYTES = 128;
  private static final long STOP_WAIT_MILLIS = 2000;

  private final ObservabilitySettings.AccessLog settings;
  private final Supplier<LineFormat> formats;
  /** Each thread's ring, made when it logs its first line. */
  private final ThreadLocal<LineRing> ring = ThreadLocal.withInitial(this::newRing);
  private final List<LineRing> rings = new CopyOnWriteArrayList<>();
  private final int ringBytes;
  /**
   * A thread nudges the writer each time its ring's tail crosses a multiple of this (an eighth of the ring), whether
   * the writer lingers or not: on a busy machine a woken writer may wait for a core for a while, which the rest of the
   * ring must cover.
   */
  private final long nudgeMask;
  private final FileAppender<ILoggingEvent> file;
  private final Thread writer;
  private volatile boolean sleeping;
  private volatile boolean running = true;
  private volatile long written;
  /** Lines the rings of threads that are gone dropped. Guarded by {@link #rings}. */
  private long droppedByGone;
  private volatile boolean writing;

  AccessLog(ObservabilitySettings.AccessLog settings) {
    this.settings = settings;
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    // one logger per node: several nodes in one JVM (tests, embedding) each keep their own file
    int node = NODES.incrementAndGet();
    String name = node == 1 ? "fulcrum.access" : "fulcrum.access-" + node;
    ch.qos.logback.classic.Logger logger = context.getLogger(name);
    logger.setAdditive(false);
    logger.setLevel(Level.INFO);
    this.formats = settings.format() == ObservabilitySettings.Format.JSON
        ? () -> new LineFormat.Json(context, logger, settings.maxUriLength())
        : () -> new LineFormat.Text(settings.maxUriLength());
    this.ringBytes = (int) Math.min(1 << 30, (long) settings.queueSize() * LINE_BYTES);
    this.nudgeMask = ~(LineRing.size(ringBytes) / 8 - 1L);

    file = new FileAppender<>();
    file.setContext(context);
    file.setName(name);
    file.setFile(settings.path().toAbsolutePath().toString());
    file.setAppend(true);
    // the writer writes the bytes itself to the appender's stream (which reopens the file after an error)
    file.setImmediateFlush(true);
    file.setEncoder(new NoEncoder());
    file.start();
    if (!file.isStarted()) {
      throw new IllegalStateException("cannot open the access log " + settings.path().toAbsolutePath());
    }

    writer = new Thread(this::write, name + "-writer");
    writer.setDaemon(true);
    writer.start();
  }

  ObservabilitySettings.AccessLog settings() {
    return settings;
  }

  /** The calling thread's record to fill with one line's values, then {@link #publish}. Never waits. */
  AccessRecord record() {
    return ring.get().record;
  }

  /**
   * Makes the line of a record {@link #record} gave on this thread and hands it to the writer (or drops and counts it
   * when the thread's ring is full), waking the writer when it sleeps or, once every eighth of the ring, when it
   * lingers.
   */
  void publish(AccessRecord record) {
    LineRing r = record.ring;
    long tail = -1;
    int length = 0;
    try {
      // the line shows when the request began: its length back from now (the engine's end stamp is about now)
      r.format.format(record, System.currentTimeMillis() - TimeUnit.NANOSECONDS.toMillis(record.total), r.line);
      length = r.line.length;
      tail = r.offer(r.line);
    } catch (RuntimeException e) {
      // one bad record (a bug) costs its line, not the log
      file.addError("cannot format an access-log line", e);
    } finally {
      record.clear();
      r.lineDone();
    }
    if (tail < 0) return;
    // a volatile read after the publishing volatile write: a writer that raised the flag before sees the line, or
    // is seen asleep here (two threads may both wake it, which is harmless)
    if (sleeping) {
      sleeping = false;
      LockSupport.unpark(writer);
    } else if (((tail - length) & nudgeMask) != (tail & nudgeMask)) {
      LockSupport.unpark(writer); // lingering: its next look comes now (running: its next park returns at once)
    }
  }

  private LineRing newRing() {
    LineRing r = new LineRing(ringBytes, Thread.currentThread(), formats.get());
    rings.add(r);
    return r;
  }

  long dropped() {
    // with the writer's forgetting of a ring (not with the threads' drops): the counter never goes back
    synchronized (rings) {
      long n = droppedByGone;
      for (LineRing r : rings) n += r.dropped();
      return n;
    }
  }

  /** Lines written to the file (or handed to it: a write the disk refuses is Logback's to report). */
  long lines() {
    return written;
  }

  /** The writer thread's id (for measuring its CPU). */
  long writerId() {
    return writer.getId();
  }

  /** The threads' rings the writer looks at (for tests). */
  int rings() {
    return rings.size();
  }

  /** Waits until the writer has taken every published line (for measurements and tests). */
  void drainForTest() {
    while (ready() || writing) Thread.onSpinWait();
  }

  /** Writes what is queued (waiting up to two seconds) and closes the file. */
  void stop() {
    running = false;
    LockSupport.unpark(writer);
    try {
      writer.join(STOP_WAIT_MILLIS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    // a writer stuck in a write (a pipe nobody reads) holds the file's lock: leave the file to it rather than wait
    if (!writer.isAlive()) file.stop();
  }

  private boolean ready() {
    for (LineRing r : rings) {
      if (r.ready()) return true;
    }
    return false;
  }

  // --- the writer thread

  private void write() {
    int idle = 0;
    while (true) {
      boolean last = !running;
      int n = drain();
      if (last) {
        if (n == 0) return;
        continue;
      }
      // lines found: the next look after the linger too (not at once, which would mostly cost a write of a few)
      idle = n > 0 ? 0 : idle + 1;
      if (idle <= LINGER_LOOKS) {
        LockSupport.parkNanos(this, LINGER_NANOS);
        continue;
      }
      sleeping = true;
      // a line published before the flag was seen would wake nobody: look once more after raising it
      if (!ready() && running) LockSupport.parkNanos(this, SLEEP_NANOS);
      sleeping = false;
    }
  }

  /**
   * Hands every ring's waiting lines to the file and forgets the rings of threads that are gone; the number of lines.
   */
  private int drain() {
    int n = 0;
    writing = true;
    OutputStream out = file.getOutputStream();
    for (LineRing r : rings) {
      try {
        n += r.drainTo(out);
      } catch (IOException | RuntimeException e) {
        file.addError("cannot write the access log", e);
        r.skip();
      }
      if (r.abandoned()) {
        synchronized (rings) {
          droppedByGone += r.dropped();
          rings.remove(r);
        }
      }
    }
    try {
      out.flush();
    } catch (IOException e) {
      file.addError("cannot write the access log", e);
    }
    if (n > 0) written += n;
    writing = false;
    return n;
  }

  /** The appender's encoder, which no event reaches: the writer writes the lines' bytes to the appender's stream. */
  private static final class NoEncoder extends EncoderBase<ILoggingEvent> {
    @Override
    public byte[] headerBytes() {
      return null;
    }

    @Override
    public byte[] encode(ILoggingEvent event) {
      return new byte[0];
    }

    @Override
    public byte[] footerBytes() {
      return null;
    }
  }
}
