package dev.fulcrum.routing;

import dev.fulcrum.config.HostPort;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Slow start, kept by a pool's router: a backend that joins the eligible set of a running pool (back up, added, or
 * its weight raised from 0) starts at 1/{@link #STEPS} of its weight and ramps linearly to its full weight over the
 * window, one step at a time; the router republishes the table at each step. Backends eligible in the pool's first
 * table start at full weight: there is nothing to protect them from.
 */
final class SlowStart {
  static final int STEPS = 10;

  private final Map<HostPort, Long> rampStarted = new HashMap<>();
  private Set<HostPort> eligibleBefore;

  /** Effective weights for a new table, in 1/STEPS units; full weights when {@code applies} is false. */
  int[] weights(RoutedBackend[] eligible, Duration window, boolean applies, long now) {
    Set<HostPort> eligibleNow = new HashSet<>();
    int[] weights = new int[eligible.length];
    for (int i = 0; i < eligible.length; i++) {
      HostPort address = eligible[i].address();
      eligibleNow.add(address);
      if (eligibleBefore != null && !eligibleBefore.contains(address) && !window.isZero()) {
        rampStarted.put(address, now);
      }
      weights[i] = eligible[i].weight() * (applies ? step(address, window, now) : STEPS);
    }
    rampStarted.keySet().retainAll(eligibleNow);
    rampStarted.values().removeIf(started -> now - started >= window.toNanos());
    eligibleBefore = eligibleNow;
    return weights;
  }

  /** When the next ramp step is due, if any backend is ramping. */
  Optional<Duration> untilNextStep(Duration window, long now) {
    long soonest = Long.MAX_VALUE;
    for (long started : rampStarted.values()) {
      long elapsed = now - started;
      long step = elapsed * (STEPS - 1) / window.toNanos() + 1;
      long boundary = ceilDiv(step * window.toNanos(), STEPS - 1);
      soonest = Math.min(soonest, Math.max(boundary - elapsed, 1_000_000));
    }
    return soonest == Long.MAX_VALUE ? Optional.empty() : Optional.of(Duration.ofNanos(soonest));
  }

  private int step(HostPort address, Duration window, long now) {
    Long started = rampStarted.get(address);
    if (started == null) return STEPS;
    long elapsed = now - started;
    if (elapsed >= window.toNanos()) return STEPS;
    return (int) (1 + elapsed * (STEPS - 1) / window.toNanos());
  }

  private static long ceilDiv(long a, long b) {
    return -Math.floorDiv(-a, b);
  }
}
