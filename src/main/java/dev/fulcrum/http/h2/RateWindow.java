package dev.fulcrum.http.h2;

/** Events counted over one-second windows: whether the latest one is over the limit of its window. */
final class RateWindow {
  private static final long SECOND = 1_000_000_000L;
  private final int limit;
  private long windowStart;
  private int count;

  RateWindow(int limit) {
    this.limit = limit;
  }

  /** Counts one event at {@code now} (nanoseconds); false when the window already holds {@code limit}. */
  boolean allow(long now) {
    if (count == 0 || now - windowStart >= SECOND) {
      windowStart = now;
      count = 0;
    }
    return ++count <= limit;
  }
}
