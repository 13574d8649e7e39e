package dev.fulcrum.testing;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** Polls a condition until it holds or a deadline passes: the test-side replacement for sleeping. */
public final class Eventually {
  private Eventually() {}

  public static void await(Duration timeout, String what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) throw new AssertionError("timed out after " + timeout + " waiting for " + what);
      pause();
    }
  }

  /** Polls until {@code value} returns something {@code accept} likes, and returns it. */
  public static <T> T await(Duration timeout, String what, Supplier<T> value, java.util.function.Predicate<T> accept) {
    long deadline = System.nanoTime() + timeout.toNanos();
    T last = value.get();
    while (!accept.test(last)) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + timeout + " waiting for " + what + "; last value: " + last);
      }
      pause();
      last = value.get();
    }
    return last;
  }

  private static void pause() {
    try {
      Thread.sleep(20); // test thread only: polling interval, not a wait for an outcome
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted");
    }
  }
}
