package dev.fulcrum.http.proxy;

import dev.fulcrum.config.HttpListenerSettings.RetryBudgetSettings;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Bounds retries to a fraction of the requests: every request deposits {@code ratio} of a token, every retry takes a
 * whole one, and the balance never exceeds {@code burst}. When a pool fails, its retries thus add at most {@code
 * ratio} to the load on the remaining backends instead of multiplying it.
 */
public final class RetryBudget {
  private static final long TOKEN = 1000;

  private final long deposit;
  private final long cap;
  private final AtomicLong balance;
  /** Retries the budget refused (a retry was wanted and another backend was there to try). */
  private final java.util.concurrent.atomic.LongAdder refused = new java.util.concurrent.atomic.LongAdder();

  public RetryBudget(RetryBudgetSettings settings) {
    this.deposit = Math.round(settings.ratio() * TOKEN);
    this.cap = Math.max(settings.burst() * TOKEN, TOKEN);
    this.balance = new AtomicLong(settings.burst() * TOKEN);
  }

  public void onRequest() {
    long current = balance.get();
    // the common case is a full budget: a read, no write, no contention
    while (current < cap && !balance.compareAndSet(current, Math.min(cap, current + deposit))) current = balance.get();
  }

  public boolean tryRetry() {
    long current = balance.get();
    while (current >= TOKEN) {
      if (balance.compareAndSet(current, current - TOKEN)) return true;
      current = balance.get();
    }
    refused.increment();
    return false;
  }

  public long refused() {
    return refused.sum();
  }
}
