package dev.fulcrum.routing;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Live counters of one backend, written by the data plane and read by strategies and status views. The router keeps
 * the same instance across table swaps so counts stay exact while the table changes.
 */
public final class BackendStats {
  private final AtomicInteger activeConnections = new AtomicInteger();
  private final AtomicInteger connectFailureStreak = new AtomicInteger();
  private final AtomicInteger inFlight = new AtomicInteger();

  public int activeConnections() {
    return activeConnections.get();
  }

  public void connectionOpened() {
    activeConnections.incrementAndGet();
  }

  public void connectionClosed() {
    activeConnections.decrementAndGet();
  }

  public int inFlight() {
    return inFlight.get();
  }

  /** An L7 request to this backend started. */
  public void requestStarted() {
    inFlight.incrementAndGet();
  }

  /** An L7 request to this backend ended (response complete, or failed) after {@code latencyNanos}. */
  public void requestFinished(long latencyNanos) {
    inFlight.decrementAndGet();
  }

  /** Records a failed connect and returns how many happened in a row. */
  public int connectFailed() {
    return connectFailureStreak.incrementAndGet();
  }

  public void connectSucceeded() {
    if (connectFailureStreak.get() != 0) connectFailureStreak.set(0);
  }

  /** Forgets past connect failures when a backend comes back up, so one new failure does not eject it again. */
  public void resetFailureStreak() {
    connectFailureStreak.set(0);
  }
}
