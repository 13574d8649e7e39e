package dev.fulcrum.observe;

import ch.qos.logback.classic.AsyncAppender;
import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.FileAppender;
import ch.qos.logback.core.encoder.Encoder;
import dev.fulcrum.config.ObservabilitySettings;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import net.logstash.logback.encoder.LogstashEncoder;
import net.logstash.logback.marker.Markers;
import org.slf4j.LoggerFactory;

/**
 * The access log of one node: a Logback logger of its own (not additive, so the application log's appenders never see
 * it) writing through an asynchronous appender to one file. The event loops only queue a line; a background thread
 * writes it. When the queue is full the line is dropped and counted instead of waiting: a slow or stuck disk costs
 * lines, never latency.
 */
final class AccessLog {
  private static final AtomicInteger NODES = new AtomicInteger();

  private final ObservabilitySettings.AccessLog settings;
  private final ch.qos.logback.classic.Logger logger;
  private final CountingAsyncAppender async;
  private final LongAdder written = new LongAdder();

  AccessLog(ObservabilitySettings.AccessLog settings) {
    this.settings = settings;
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    // one logger per node: several nodes in one JVM (tests, embedding) each keep their own file
    int node = NODES.incrementAndGet();
    logger = context.getLogger(node == 1 ? "fulcrum.access" : "fulcrum.access-" + node);
    logger.setAdditive(false);
    logger.setLevel(Level.INFO);

    Encoder<ILoggingEvent> encoder;
    if (settings.format() == ObservabilitySettings.Format.JSON) {
      LogstashEncoder json = new LogstashEncoder();
      json.setIncludeContext(false);
      json.setIncludeMdc(false);
      json.setContext(context);
      encoder = json;
    } else {
      LineEncoder text = new LineEncoder();
      text.setContext(context);
      encoder = text;
    }
    encoder.start();

    async = new CountingAsyncAppender();
    BatchFlushingFileAppender file = new BatchFlushingFileAppender(async);
    file.setContext(context);
    file.setImmediateFlush(false);
    file.setBufferSize(new ch.qos.logback.core.util.FileSize(64 * 1024));
    file.setName("access-file");
    file.setFile(settings.path().toAbsolutePath().toString());
    file.setAppend(true);
    file.setEncoder(encoder);
    file.start();
    if (!file.isStarted()) {
      throw new IllegalStateException("cannot open the access log " + settings.path().toAbsolutePath());
    }

    async.setContext(context);
    async.setName("access-async");
    async.setQueueSize(settings.queueSize());
    async.setDiscardingThreshold(0);
    async.setNeverBlock(true);
    async.setMaxFlushTime(2000);
    async.addAppender(file);
    async.start();
    logger.addAppender(async);
  }

  ObservabilitySettings.AccessLog settings() {
    return settings;
  }

  boolean json() {
    return settings.format() == ObservabilitySettings.Format.JSON;
  }

  /** A text line's values, formatted only by the writer thread. */
  interface Line {
    void appendTo(StringBuilder line);
  }

  /**
   * Queues a text line; never waits. The line travels as the event's argument and is formatted by {@link LineEncoder}
   * on the writer thread: the event loop only takes a snapshot of the values.
   */
  void text(Line line) {
    logger.info("access", line);
    written.increment();
  }

  /** Writes a {@link Line} (the event's only argument) as one line of text. */
  static final class LineEncoder extends ch.qos.logback.core.encoder.EncoderBase<ILoggingEvent> {
    @Override
    public byte[] headerBytes() {
      return null;
    }

    @Override
    public byte[] encode(ILoggingEvent event) {
      StringBuilder text = new StringBuilder(200);
      Object[] args = event.getArgumentArray();
      if (args != null && args.length == 1 && args[0] instanceof Line line) line.appendTo(text);
      else text.append(event.getFormattedMessage());
      return text.append('\n').toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    @Override
    public byte[] footerBytes() {
      return null;
    }
  }

  /** Queues a JSON line with these fields (the encoder writes them; no JSON is built here); never waits. */
  void json(Map<String, ?> fields) {
    logger.info(Markers.appendEntries(fields), "access");
    written.increment();
  }

  long dropped() {
    return async.dropped.sum();
  }

  long lines() {
    return written.sum() - dropped();
  }

  /** Writes what is queued (for up to the flush time) and closes the file. */
  void stop() {
    logger.detachAndStopAllAppenders();
  }

  /**
   * Writes through a buffer and flushes only when no line waits behind this one: under load lines go out in 64 KiB
   * writes instead of one system call each, and when traffic is light each line is on disk at once (a tail -f shows
   * it). Runs on the asynchronous appender's one writer thread only.
   */
  static final class BatchFlushingFileAppender extends FileAppender<ILoggingEvent> {
    private final AsyncAppender queue;

    BatchFlushingFileAppender(AsyncAppender queue) {
      this.queue = queue;
    }

    @Override
    protected void subAppend(ILoggingEvent event) {
      super.subAppend(event);
      if (queue.getNumberOfElementsInQueue() == 0) {
        try {
          getOutputStream().flush();
        } catch (java.io.IOException e) {
          addError("cannot flush the access log", e);
        }
      }
    }
  }

  /** Logback's AsyncAppender drops silently with neverBlock; this counts what it drops. */
  static final class CountingAsyncAppender extends AsyncAppender {
    final LongAdder dropped = new LongAdder();

    @Override
    protected void append(ILoggingEvent event) {
      // A line that arrives while the queue is full is dropped here rather than inside offer(), so that it is counted.
      if (getRemainingCapacity() == 0) {
        dropped.increment();
        return;
      }
      super.append(event);
    }
  }
}
