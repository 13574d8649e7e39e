package dev.fulcrum.routing;

/**
 * The backends one request or connection may try, in order: the strategy's pick first, then the next ones of the same
 * table, each at most once, up to a limit (as Pingora's {@code BackendIter}). Every retry loop, L4 and L7, walks one
 * of these, so "which backend next, and is there one" is decided in one place. Not thread-safe: one per request.
 */
public final class Attempts {
  private final RoutingTable table;
  private final int first;
  private final int limit;
  /** Backends handed out so far; the current one is {@code made - 1} after the first. */
  private int made;

  /** {@code first} is the strategy's pick (an index into the table, not negative); {@code maxAttempts} at least 1. */
  public Attempts(RoutingTable table, int first, int maxAttempts) {
    if (first < 0 || first >= table.size()) throw new IllegalArgumentException("no backend at index " + first);
    this.table = table;
    this.first = first;
    this.limit = Math.max(1, Math.min(maxAttempts, table.size()));
  }

  /** Attempts over the table starting at the strategy's pick for this key, or null when no backend is eligible. */
  public static Attempts pick(RoutingTable table, long requestKey, int maxAttempts) {
    int first = table.pick(requestKey);
    return first < 0 ? null : new Attempts(table, first, maxAttempts);
  }

  /** Whether {@link #next} has another backend to give. */
  public boolean hasNext() {
    return made < limit;
  }

  /** The next backend to try; call only while {@link #hasNext}. */
  public RoutedBackend next() {
    if (!hasNext()) throw new IllegalStateException("all " + limit + " attempt(s) used");
    return table.get((first + made++) % table.size());
  }

  /** The backend the last {@link #next} gave, e.g. to try it again on a fresh connection; null before the first. */
  public RoutedBackend current() {
    return made == 0 ? null : table.get((first + made - 1) % table.size());
  }

  /** How many backends were handed out. */
  public int made() {
    return made;
  }

  public RoutingTable table() {
    return table;
  }
}
