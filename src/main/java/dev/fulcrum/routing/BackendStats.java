package dev.fulcrum.routing;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * Live counters of one backend, written by the data plane and read by strategies and status views. The router keeps
 * the same instance across table swaps so counts stay exact while the table changes.
 *
 * <p>The load strategies weigh (connections plus requests in flight) is kept in the pool's {@link PoolLoad}, next to
 * the other backends' loads, so that scanning a pool is cheap; the other counters are volatile fields here.
 *
 * <p>Latency is a peak-EWMA (as in Finagle and Linkerd): a sample above the current estimate replaces it at once, so a
 * backend that turns slow is avoided after its first slow response; lower samples pull the estimate down with a weight
 * that grows with the time since the last sample, and the estimate decays toward zero while no sample comes, so a
 * backend that was avoided gets probed again after a while.
 */
public final class BackendStats {
  /** Time for the latency estimate to fall to 1/e without new samples (Finagle's and Linkerd's default). */
  static final long DECAY_NANOS = 10_000_000_000L;

  private static final VarHandle ACTIVE;
  private static final VarHandle IN_FLIGHT;
  private static final VarHandle FAILURE_STREAK;
  private static final VarHandle LATENCY;

  static {
    try {
      MethodHandles.Lookup lookup = MethodHandles.lookup();
      ACTIVE = lookup.findVarHandle(BackendStats.class, "activeConnections", int.class);
      IN_FLIGHT = lookup.findVarHandle(BackendStats.class, "inFlight", int.class);
      FAILURE_STREAK = lookup.findVarHandle(BackendStats.class, "connectFailureStreak", int.class);
      LATENCY = lookup.findVarHandle(BackendStats.class, "latency", long.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private final PoolLoad pool;
  /** Where activeConnections + inFlight is kept, next to the other backends' of the pool (see {@link PoolLoad}). */
  private final int slot;
  private volatile int activeConnections;
  private volatile int inFlight;
  private volatile int connectFailureStreak;
  /** The latency estimate and when it was last updated, packed so that one CAS keeps both consistent. */
  private volatile long latency;
  private final java.util.concurrent.atomic.AtomicInteger queued = new java.util.concurrent.atomic.AtomicInteger();
  private final OutlierDetector outliers = new OutlierDetector();

  /** Stats of a backend whose load counts toward no pool total. */
  public BackendStats() {
    this(new PoolLoad());
  }

  BackendStats(PoolLoad pool) {
    this.pool = pool;
    this.slot = pool.allocate();
  }

  public int activeConnections() {
    return activeConnections;
  }

  public void connectionOpened() {
    ACTIVE.getAndAdd(this, 1);
    addLoad(1);
  }

  public void connectionClosed() {
    ACTIVE.getAndAdd(this, -1);
    addLoad(-1);
  }

  public int inFlight() {
    return inFlight;
  }

  /** Where the data plane reports outcomes that may get the backend ejected. */
  public OutlierDetector outliers() {
    return outliers;
  }

  /** L7 requests of this node waiting in the backend's queue for a connection (engine = nio). */
  public int queued() {
    return queued.get();
  }

  public void queueChanged(int delta) {
    queued.addAndGet(delta);
  }

  /** An L7 request to this backend started. */
  public void requestStarted() {
    IN_FLIGHT.getAndAdd(this, 1);
    addLoad(1);
  }

  /** An L7 request to this backend ended (response complete, or failed) after {@code latencyNanos}. */
  public void requestFinished(long latencyNanos) {
    IN_FLIGHT.getAndAdd(this, -1);
    addLoad(-1);
    observeLatency(Math.max(0, latencyNanos), System.nanoTime());
  }

  /** What load-aware strategies weigh: open connections (L4) plus requests in flight (L7). */
  int load() {
    return pool.load(slot);
  }

  private void addLoad(int delta) {
    pool.add(slot, delta);
  }

  PoolLoad pool() {
    return pool;
  }

  int slot() {
    return slot;
  }

  /** The current peak-EWMA latency estimate, decayed to now; 0 before the first sample. */
  public long latencyEstimateNanos() {
    return (long) latencyEstimate(System.nanoTime());
  }

  double latencyEstimate(long nowNanos) {
    long packed = latency;
    return decay(costOf(packed), nowNanos, stampOf(packed));
  }

  void observeLatency(long sampleNanos, long nowNanos) {
    int now = ticks(nowNanos);
    while (true) {
      long packed = latency;
      float cost = costOf(packed);
      float next;
      if (sampleNanos > cost) {
        next = sampleNanos;
      } else {
        double w = weightOfPast(now, stampOf(packed));
        next = (float) (cost * w + sampleNanos * (1 - w));
      }
      if (LATENCY.compareAndSet(this, packed, pack(next, now))) return;
    }
  }

  /** Records a failed connect and returns how many happened in a row. */
  public int connectFailed() {
    return (int) FAILURE_STREAK.getAndAdd(this, 1) + 1;
  }

  public void connectSucceeded() {
    if (connectFailureStreak != 0) connectFailureStreak = 0;
    outliers.connected();
  }

  /** Forgets past connect failures when a backend comes back up, so one new failure does not eject it again. */
  public void resetFailureStreak() {
    connectFailureStreak = 0;
  }

  // Timestamps are kept in ticks of 2^20 ns (about 1 ms) in 32 bits: differences stay exact for 26 days, and a
  // millisecond is fine-grained enough for a 10 s decay. A reader may see a stamp a tick newer than its own clock
  // reading (another thread just wrote), so negative differences count as no time elapsed.
  private static final int TICK_SHIFT = 20;
  private static final double TICKS_PER_DECAY = (double) DECAY_NANOS / (1L << TICK_SHIFT);

  private static int ticks(long nanos) {
    return (int) (nanos >> TICK_SHIFT);
  }

  private static double decay(float cost, long nowNanos, int stamp) {
    return cost == 0 ? 0 : cost * weightOfPast(ticks(nowNanos), stamp);
  }

  /**
   * exp(-elapsed / decay) from two 256-entry tables (high and low byte of the elapsed ticks), so that reading an
   * estimate on the pick path costs two lookups instead of an {@code exp}. Past 65 535 ticks (about 6.9 decay times)
   * the factor is below 0.1% and counts as 0.
   */
  private static double weightOfPast(int now, int stamp) {
    int elapsed = now - stamp;
    if (elapsed <= 0) return 1;
    if (elapsed > 0xffff) return 0;
    return DECAY_HIGH[elapsed >>> 8] * DECAY_LOW[elapsed & 0xff];
  }

  private static final double[] DECAY_HIGH = decayTable(256);
  private static final double[] DECAY_LOW = decayTable(1);

  private static double[] decayTable(int ticksPerEntry) {
    double[] table = new double[256];
    for (int i = 0; i < 256; i++) table[i] = Math.exp(-(double) i * ticksPerEntry / TICKS_PER_DECAY);
    return table;
  }

  private static long pack(float cost, int stamp) {
    return ((long) Float.floatToRawIntBits(cost) << 32) | Integer.toUnsignedLong(stamp);
  }

  private static float costOf(long packed) {
    return Float.intBitsToFloat((int) (packed >>> 32));
  }

  private static int stampOf(long packed) {
    return (int) packed;
  }
}
