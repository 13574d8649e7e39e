package dev.fulcrum.nio;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;

/**
 * Counts an event that can happen thousands of times a second and reports it at most once a second, with how many
 * happened since the last report, so a flood cannot flood the log.
 */
public final class RateLimitedCounter {
  private static final long INTERVAL = TimeUnit.SECONDS.toNanos(1);

  private final AtomicLong total = new AtomicLong();
  private final AtomicLong reported = new AtomicLong();
  private final AtomicLong lastReport = new AtomicLong(System.nanoTime() - INTERVAL);
  private final LongConsumer report;

  public RateLimitedCounter(LongConsumer report) {
    this.report = report;
  }

  public void increment() {
    long count = total.incrementAndGet();
    long now = System.nanoTime();
    long last = lastReport.get();
    if (now - last >= INTERVAL && lastReport.compareAndSet(last, now)) {
      report.accept(count - reported.getAndSet(count));
    }
  }

  public long total() {
    return total.get();
  }
}
