package dev.fulcrum.observe;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/** One backend's active health checks on this node, counted by result (a check every few seconds: no hot path). */
public final class HealthChecks {
  private final Counter passed;
  private final Counter failed;
  private final Counter timedOut;

  HealthChecks(MeterRegistry registry, String pool, String backend) {
    passed = counter(registry, pool, backend, "passed");
    failed = counter(registry, pool, backend, "failed");
    timedOut = counter(registry, pool, backend, "timeout");
  }

  private static Counter counter(MeterRegistry registry, String pool, String backend, String result) {
    return Counter.builder("fulcrum.backend.health.checks")
        .description("Active health checks of a backend from this node, by result")
        .tags("pool", pool, "backend", backend, "result", result)
        .register(registry);
  }

  /** Counts one check's outcome (on the event loop that ran it). */
  public void count(dev.fulcrum.backend.HealthProbes.Outcome outcome) {
    if (outcome instanceof dev.fulcrum.backend.HealthProbes.Failed) failed.increment();
    else if (outcome instanceof dev.fulcrum.backend.HealthProbes.TimedOut) timedOut.increment();
    else passed.increment();
  }
}
