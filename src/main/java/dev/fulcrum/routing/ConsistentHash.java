package dev.fulcrum.routing;

import java.util.Arrays;

/**
 * Maglev consistent hashing (Eisenbud et al., NSDI 2016) with bounded loads (Mirrokni et al., SODA 2018).
 *
 * <p>A lookup table of a prime number of slots, at least 100 per backend, is filled from each backend's own
 * permutation of the slots, weighted: each backend claims slots in proportion to its weight. A key goes to the
 * backend of its slot, so the same key always reaches the same backend while the set is unchanged, and when a
 * backend leaves or joins only about its share of the keys moves.
 *
 * <p>With bounded loads (factor c &gt; 1), a backend already holding c × its weighted share of the pool's load does
 * not take more: the key goes on to the following slots until one's backend has room. Slots in a row belong to
 * unrelated backends, so the overflow of one backend spreads over the others, and the same key overflows the same
 * way. As the capacities add up to more than the load, some backend always has room.
 */
final class ConsistentHash implements Strategy {
  private static final int MIN_SLOTS = 65_537;
  private static final int SLOTS_PER_BACKEND = 100;

  private final String[] addresses;
  private final int[] weights;
  private final int[] slots;
  private final LoadView loads;
  private final double[] capacityShare;
  private final PoolLoad pool;

  private ConsistentHash(
      String[] addresses, int[] weights, int[] slots, RoutedBackend[] backends, double boundedLoad) {
    this.addresses = addresses;
    this.weights = weights;
    this.slots = slots;
    this.loads = new LoadView(backends);
    this.pool = backends[0].stats().pool();
    if (boundedLoad > 0) {
      long total = 0;
      for (int w : weights) total += w;
      capacityShare = new double[weights.length];
      for (int i = 0; i < weights.length; i++) capacityShare[i] = boundedLoad * weights[i] / total;
    } else {
      capacityShare = null;
    }
  }

  /** Reuses the previous lookup table when backends and weights are the same: building one costs milliseconds. */
  static ConsistentHash build(RoutedBackend[] backends, int[] weights, double boundedLoad, Strategy previous) {
    String[] addresses = new String[backends.length];
    for (int i = 0; i < backends.length; i++) addresses[i] = backends[i].address().toString();
    int[] slots =
        previous instanceof ConsistentHash p && Arrays.equals(p.addresses, addresses) && Arrays.equals(p.weights, weights)
            ? p.slots
            : slots(addresses, weights);
    return new ConsistentHash(addresses, weights.clone(), slots, backends, boundedLoad);
  }

  @Override
  public boolean usesKey() {
    return true;
  }

  @Override
  public int pick(RoutingTable table, long requestKey) {
    int slot = (int) Long.remainderUnsigned(HashKey.mix(requestKey), slots.length);
    if (capacityShare == null) return slots[slot];
    double placed = pool.total() + 1.0;
    for (int probe = 0; probe < slots.length; probe++) {
      int i = slots[slot];
      if (loads.load(i) < Math.ceil(capacityShare[i] * placed)) return i;
      if (++slot == slots.length) slot = 0;
    }
    return slots[slot];
  }

  static int[] slots(String[] addresses, int[] weights) {
    int n = addresses.length;
    int size = tableSize(n);
    long[] offset = new long[n];
    long[] skip = new long[n];
    long[] taken = new long[n];
    double[] credit = new double[n];
    int maxWeight = 0;
    for (int i = 0; i < n; i++) {
      long h = HashKey.ofString(addresses[i]);
      offset[i] = Long.remainderUnsigned(h, size);
      skip[i] = Long.remainderUnsigned(HashKey.mix(h ^ 0x9e3779b97f4a7c15L), size - 1) + 1;
      maxWeight = Math.max(maxWeight, weights[i]);
    }
    int[] table = new int[size];
    Arrays.fill(table, -1);
    int filled = 0;
    while (true) {
      for (int i = 0; i < n; i++) {
        credit[i] += (double) weights[i] / maxWeight;
        while (credit[i] >= 1) {
          credit[i] -= 1;
          int slot;
          do {
            slot = (int) ((offset[i] + taken[i]++ * skip[i]) % size);
          } while (table[slot] >= 0);
          table[slot] = i;
          if (++filled == size) return table;
        }
      }
    }
  }

  /** The smallest prime of at least 100 slots per backend (and at least 65 537), as the Maglev paper advises. */
  static int tableSize(int backends) {
    int size = Math.max(MIN_SLOTS, backends * SLOTS_PER_BACKEND);
    while (!isPrime(size)) size++;
    return size;
  }

  private static boolean isPrime(int n) {
    if (n % 2 == 0) return n == 2;
    for (int d = 3; (long) d * d <= n; d += 2) {
      if (n % d == 0) return false;
    }
    return true;
  }
}
