package dev.fulcrum.routing;

/**
 * Draws an index with probability proportional to its weight in O(1) from one random long (Vose's alias method): the
 * high half picks a column, the low half decides between the column and its alias. Built once per table.
 */
final class AliasTable {
  private static final double ONE = 0x1p32;

  private final int n;
  private final long[] threshold;
  private final int[] alias;

  AliasTable(int[] weights) {
    n = weights.length;
    threshold = new long[n];
    alias = new int[n];
    double total = 0;
    for (int w : weights) total += w;
    double[] scaled = new double[n];
    int[] small = new int[n];
    int[] large = new int[n];
    int smalls = 0;
    int larges = 0;
    for (int i = 0; i < n; i++) {
      scaled[i] = weights[i] * n / total;
      if (scaled[i] < 1) small[smalls++] = i;
      else large[larges++] = i;
    }
    while (smalls > 0 && larges > 0) {
      int s = small[--smalls];
      int l = large[--larges];
      threshold[s] = (long) (scaled[s] * ONE);
      alias[s] = l;
      scaled[l] -= 1 - scaled[s];
      if (scaled[l] < 1) small[smalls++] = l;
      else large[larges++] = l;
    }
    // What is left has a probability of 1 up to rounding.
    while (larges > 0) setCertain(large[--larges]);
    while (smalls > 0) setCertain(small[--smalls]);
  }

  private void setCertain(int i) {
    threshold[i] = (long) ONE;
    alias[i] = i;
  }

  int size() {
    return n;
  }

  /**
   * A second draw that differs from {@code first} (when there are two or more): a repeat is replaced by a uniform pick
   * among the others, so two-choice strategies always compare two distinct backends.
   */
  int drawOther(int first, java.util.concurrent.ThreadLocalRandom random) {
    int second = draw(random.nextLong());
    if (second != first || n == 1) return second;
    second = first + 1 + random.nextInt(n - 1);
    return second >= n ? second - n : second;
  }

  int draw(long random) {
    int column = (int) (((random >>> 32) * n) >>> 32);
    return (random & 0xffffffffL) < threshold[column] ? column : alias[column];
  }
}
