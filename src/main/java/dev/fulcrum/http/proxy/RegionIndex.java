package dev.fulcrum.http.proxy;

/**
 * A hash map from strings to values that is read with a region of another string and that region's hash, so a lookup
 * allocates nothing (no substring, no lower-casing): the route index finds a host or a path prefix in the request's
 * own strings. Keys are compared without ASCII case when the index ignores case (then they are stored in lower case).
 * Immutable once built; built once per route table.
 */
final class RegionIndex<V> {
  private final String[] keys;
  private final int[] hashes;
  private final Object[] values;
  private final int mask;
  private final boolean ignoreCase;
  private int size;
  /** Bit {@code min(length, 63)} is set for each key's length: most regions a lookup would try have no key that long. */
  private long lengths;
  private int longest;

  RegionIndex(int expected, boolean ignoreCase) {
    int capacity = Integer.highestOneBit(Math.max(4, expected * 2 + 1) - 1) << 1;
    this.keys = new String[capacity];
    this.hashes = new int[capacity];
    this.values = new Object[capacity];
    this.mask = capacity - 1;
    this.ignoreCase = ignoreCase;
  }

  boolean isEmpty() {
    return size == 0;
  }

  /** Whether a key may be {@code length} long (false: no key is; true: one may be, for lengths of 63 and more). */
  boolean mayHaveLength(int length) {
    return (lengths & (1L << Math.min(length, 63))) != 0;
  }

  /** The length of the longest key (0 when empty). */
  int longest() {
    return longest;
  }

  /** The hash a region is looked up with: String's polynomial, over ASCII-lower-cased characters when ignoring case. */
  static int hash(CharSequence s, int from, int to, boolean ignoreCase) {
    int h = 0;
    for (int i = from; i < to; i++) h = 31 * h + (ignoreCase ? lower(s.charAt(i)) : s.charAt(i));
    return h;
  }

  static char lower(char c) {
    return c >= 'A' && c <= 'Z' ? (char) (c + 32) : c;
  }

  /** Adds or replaces (at build time only). */
  void put(String key, V value) {
    String k = ignoreCase ? key.toLowerCase(java.util.Locale.ROOT) : key;
    int h = hash(k, 0, k.length(), ignoreCase);
    for (int i = spread(h) & mask; ; i = (i + 1) & mask) {
      if (keys[i] == null) {
        if (size + 1 > (mask + 1) / 2) throw new IllegalStateException("index full");
        keys[i] = k;
        hashes[i] = h;
        values[i] = value;
        size++;
        lengths |= 1L << Math.min(k.length(), 63);
        longest = Math.max(longest, k.length());
        return;
      }
      if (hashes[i] == h && keys[i].equals(k)) {
        values[i] = value;
        return;
      }
    }
  }

  /** The value stored under the key equal to {@code s[from, to)}, whose hash is {@code h}; null if none. */
  @SuppressWarnings("unchecked")
  V get(String s, int from, int to, int h) {
    int length = to - from;
    for (int i = spread(h) & mask; ; i = (i + 1) & mask) {
      String k = keys[i];
      if (k == null) return null;
      if (hashes[i] == h && k.length() == length && equal(s, from, k, length)) return (V) values[i];
    }
  }

  /**
   * Whether {@code s[from, from + length)} is {@code key}. Keys ignoring case are stored in lower case, so an ASCII
   * lower-casing of the request's characters is all it takes (String's regionMatches(true, ...) folds Unicode case,
   * several times slower on the route lookup's path).
   */
  private boolean equal(String s, int from, String key, int length) {
    if (!ignoreCase) return s.regionMatches(from, key, 0, length);
    for (int j = 0; j < length; j++) {
      if (lower(s.charAt(from + j)) != key.charAt(j)) return false;
    }
    return true;
  }

  @SuppressWarnings("unchecked")
  V get(String key) {
    return get(key, 0, key.length(), hash(key, 0, key.length(), ignoreCase));
  }

  private static int spread(int h) {
    return h ^ (h >>> 16);
  }
}
