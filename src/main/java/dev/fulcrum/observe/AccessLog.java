package dev.fulcrum.observe;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.core.FileAppender;
import ch.qos.logback.core.encoder.EncoderBase;
import dev.fulcrum.config.ObservabilitySettings;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.LoggerFactory;

/**
 * The access log of one node. The event loops fill preallocated slots of an {@link AccessRing} (a compare-and-set and
 * a few field writes, no lock, no system call) and, for the text format, turn them into the line's bytes in the slot
 * (no allocation); one writer thread adds the times, gathers the lines into a batch and hands each batch to a Logback
 * {@link FileAppender} as a single event. When the ring is full the line is dropped and counted: a slow or stuck disk
 * costs lines, never latency.
 *
 * <p>Why not Logback's AsyncAppender: it costs a logging event, a lock and, when its worker sleeps, a wake-up per line,
 * several microseconds of CPU for every request, more than the rest of the proxying. Here the writer is woken at most
 * once per batch: after writing it lingers, looking again every {@link #LINGER_NANOS}, so that under load the event
 * loops do not have to wake it, and only after a quiet spell does it sleep until a line comes. Each look costs a
 * wake-up and a write system call, shared by the lines it finds; a loop nudges the writer when an eighth of the ring
 * has filled since, so that the linger does not let a fast node fill the ring.
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
  /** A batch is handed to the file when it is this large, or when the ring is empty. */
  private static final int BATCH_BYTES = 64 * 1024;
  private static final long STOP_WAIT_MILLIS = 2000;

  private final ObservabilitySettings.AccessLog settings;
  private final AccessRing ring;
  /**
   * Every this many lines (an eighth of the ring) the publishing loop nudges the writer, whether it lingers or not: on
   * a busy machine a woken writer may wait for a core for a while, which the rest of the ring must cover.
   */
  private final long nudgeMask;
  private final LineFormat format;
  private final FileAppender<ILoggingEvent> file;
  private final BatchEncoder encoder = new BatchEncoder();
  private final LoggingEvent carrier;
  private final LineBuffer batch = new LineBuffer(BATCH_BYTES + 4096);
  private final Thread writer;
  private volatile boolean sleeping;
  private volatile boolean running = true;
  private volatile long written;
  private volatile boolean writing;

  AccessLog(ObservabilitySettings.AccessLog settings) {
    this.settings = settings;
    this.ring = new AccessRing(settings.queueSize());
    this.nudgeMask = Math.max(1, ring.capacity() / 8) - 1;
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    // one logger per node: several nodes in one JVM (tests, embedding) each keep their own file
    int node = NODES.incrementAndGet();
    String name = node == 1 ? "fulcrum.access" : "fulcrum.access-" + node;
    ch.qos.logback.classic.Logger logger = context.getLogger(name);
    logger.setAdditive(false);
    logger.setLevel(Level.INFO);
    this.format = settings.format() == ObservabilitySettings.Format.JSON
        ? new LineFormat.Json(context, logger, settings.maxUriLength())
        : new LineFormat.Text(settings.maxUriLength());

    encoder.setContext(context);
    encoder.start();
    file = new FileAppender<>();
    file.setContext(context);
    file.setName(name);
    file.setFile(settings.path().toAbsolutePath().toString());
    file.setAppend(true);
    // each event is a whole batch: written with one system call, at once
    file.setImmediateFlush(true);
    file.setEncoder(encoder);
    file.start();
    if (!file.isStarted()) {
      throw new IllegalStateException("cannot open the access log " + settings.path().toAbsolutePath());
    }
    // the one event that carries every batch to the appender (its encoder takes the bytes from the batch)
    carrier = new LoggingEvent(AccessLog.class.getName(), logger, Level.INFO, "access", null, null);
    carrier.prepareForDeferredProcessing();

    writer = new Thread(this::write, name + "-writer");
    writer.setDaemon(true);
    writer.start();
  }

  ObservabilitySettings.AccessLog settings() {
    return settings;
  }

  /**
   * A slot to fill with one line's values, then {@link #publish}; null when the ring is full (the line is dropped and
   * counted). Never waits.
   */
  AccessRecord claim() {
    return ring.claim();
  }

  /**
   * Hands a filled slot to the writer (the text format makes its line here first), waking the writer when it sleeps
   * or, once every eighth of the ring, when it lingers.
   */
  void publish(AccessRecord record) {
    try {
      format.prepare(record);
    } catch (RuntimeException e) {
      // one bad record (a bug) costs its line, not the log: the slot is published all the same, or the ring would stop
      record.clear();
      record.line.length = 0;
      file.addError("cannot format an access-log line", e);
    }
    ring.publish(record);
    // a volatile read after the publishing volatile write: a writer that raised the flag before sees the line, or
    // is seen asleep here (two producers may both wake it, which is harmless)
    if (sleeping) {
      sleeping = false;
      LockSupport.unpark(writer);
    } else if ((record.position & nudgeMask) == 0) {
      LockSupport.unpark(writer); // lingering: its next look comes now (running: its next park returns at once)
    }
  }

  long dropped() {
    return ring.dropped();
  }

  /** Lines written to the file (or handed to it: a write the disk refuses is Logback's to report). */
  long lines() {
    return written;
  }

  /** The writer thread's id (for measuring its CPU). */
  long writerId() {
    return writer.getId();
  }

  /** Waits until the writer has taken every published line (for measurements and tests). */
  void drainForTest() {
    while (ring.ready() || writing) Thread.onSpinWait();
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
      if (!ring.ready() && running) LockSupport.parkNanos(this, SLEEP_NANOS);
      sleeping = false;
    }
  }

  /** Formats every line that is ready into batches and hands them to the file; the number of lines. */
  private int drain() {
    long wall = System.currentTimeMillis();
    long now = System.nanoTime();
    int n = 0;
    AccessRecord record;
    writing = true;
    while ((record = ring.poll()) != null) {
      try {
        format.append(record, wall - TimeUnit.NANOSECONDS.toMillis(now - record.ended + record.total), batch);
      } catch (RuntimeException e) {
        // one bad record (a bug) costs its line, not the log
        file.addError("cannot format an access-log line", e);
      }
      ring.release(record);
      n++;
      if (batch.length >= BATCH_BYTES) flush();
    }
    flush();
    if (n > 0) written += n;
    writing = false;
    return n;
  }

  private void flush() {
    if (batch.length == 0) return;
    encoder.pending = batch;
    file.doAppend(carrier);
    batch.length = 0;
  }

  /** Gives the file appender the batch's bytes for the carrier event. Used by the writer thread only. */
  static final class BatchEncoder extends EncoderBase<ILoggingEvent> {
    LineBuffer pending;

    @Override
    public byte[] headerBytes() {
      return null;
    }

    @Override
    public byte[] encode(ILoggingEvent event) {
      LineBuffer b = pending;
      return b == null ? new byte[0] : java.util.Arrays.copyOf(b.bytes, b.length);
    }

    @Override
    public byte[] footerBytes() {
      return null;
    }
  }
}
