package dev.fulcrum.http.proxy;

import dev.fulcrum.config.HttpListenerSettings.RetryBudgetSettings;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * Bounds retries to a fraction of the requests: every request deposits {@code ratio} of a token, every retry takes a
 * whole one, and the balance never exceeds {@code burst} plus what the last second's requests deposited. When a pool
 * fails, its retries thus add at most {@code ratio} to the load on the remaining backends instead of multiplying it;
 * yet a backend that dies under load, resetting the requests it had in flight all at once, has them all retried, as
 * nginx's {@code proxy_next_upstream} would: a fixed reserve would refuse those beyond it, however busy the listener.
 */
public final class RetryBudget {
  private static final long TOKEN = 1000;
  /** The traffic that raises the cap is counted per period of 2^30 ns (about a second): a shift, not a division. */
  private static final int PERIOD_SHIFT = 30;

  private final long deposit;
  private final long burst;
  private final LongSupplier clock;
  private final AtomicLong balance;
  private final LongAdder thisPeriod = new LongAdder();
  private final AtomicLong period;
  private volatile long lastPeriodRequests;
  /** Retries the budget refused (a retry was wanted and another backend was there to try). */
  private final LongAdder refused = new LongAdder();

  public RetryBudget(RetryBudgetSettings settings) {
    this(settings, System::nanoTime);
  }

  RetryBudget(RetryBudgetSettings settings, LongSupplier nanoClock) {
    this.deposit = Math.round(settings.ratio() * TOKEN);
    this.burst = Math.max(settings.burst() * TOKEN, TOKEN);
    this.clock = nanoClock;
    this.balance = new AtomicLong(settings.burst() * TOKEN);
    this.period = new AtomicLong(nanoClock.getAsLong() >>> PERIOD_SHIFT);
  }

  public void onRequest() {
    long now = clock.getAsLong() >>> PERIOD_SHIFT;
    long last = period.get();
    if (now != last && period.compareAndSet(last, now)) nextPeriod(last, now);
    thisPeriod.increment();
    long cap = cap();
    long current = balance.get();
    // the common case is a full budget: a read, no write, no contention
    while (current < cap && !balance.compareAndSet(current, Math.min(cap, current + deposit))) current = balance.get();
  }

  /**
   * By the one request that moved the period on (others of the same moment may be counted in the wrong period: the
   * cap is an estimate of the traffic, not an account).
   */
  private void nextPeriod(long ended, long now) {
    long requests = thisPeriod.sumThenReset();
    // a quiet spell between the two periods leaves no traffic to raise the cap with
    lastPeriodRequests = now == ended + 1 ? requests : 0;
  }

  private long cap() {
    return burst + deposit * lastPeriodRequests;
  }

  public boolean tryRetry() {
    long cap = cap();
    long current = balance.get();
    while (current >= TOKEN) {
      // the cap fell with the traffic: what the balance holds beyond it is not spent
      if (balance.compareAndSet(current, Math.min(current, cap) - TOKEN)) return true;
      current = balance.get();
    }
    refused.increment();
    return false;
  }

  public long refused() {
    return refused.sum();
  }
}
