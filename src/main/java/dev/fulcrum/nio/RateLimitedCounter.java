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

  /** A report that also carries the failure counted when it became due, so one stack trace reaches the log. */
  public interface FailureReport {
    void report(long count, Throwable sample);
  }

  private final AtomicLong total = new AtomicLong();
  private final AtomicLong reported = new AtomicLong();
  private final AtomicLong lastReport = new AtomicLong(System.nanoTime() - INTERVAL);
  private final FailureReport report;

  public RateLimitedCounter(LongConsumer report) {
    this((count, sample) -> report.accept(count));
  }

  public RateLimitedCounter(FailureReport report) {
    this.report = report;
  }

  public void increment() {
    increment(null);
  }

  /** Counts {@code failure}; it is the sample of the report if one is due now. */
  public void increment(Throwable failure) {
    long count = total.incrementAndGet();
    long now = System.nanoTime();
    long last = lastReport.get();
    if (now - last >= INTERVAL && lastReport.compareAndSet(last, now)) {
      report.report(count - reported.getAndSet(count), failure);
    }
  }

  public long total() {
    return total.get();
  }
}
