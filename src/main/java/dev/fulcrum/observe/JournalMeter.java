package dev.fulcrum.observe;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * Counts the journal's work for the pools' entities that run on this node: events it stored, and writes and recoveries
 * that failed. The entities run in the node's cluster actor system of the moment; the counts live in the node's own
 * registry, so they survive a rejoin.
 */
public final class JournalMeter {
  /** How the journal failed an entity. */
  public enum Failure {
    /** A write failed: the journal did not answer or errored; the event may or may not be stored. */
    WRITE_FAILED("write_failed"),
    /** The journal refused the write (the event is not stored). */
    WRITE_REJECTED("write_rejected"),
    /** The entity could not read its events back when it started. */
    RECOVERY("recovery");

    final String label;

    Failure(String label) {
      this.label = label;
    }
  }

  private final MeterRegistry registry;

  JournalMeter(MeterRegistry registry) {
    this.registry = registry;
  }

  public void written(String pool, int events) {
    Counter.builder("fulcrum.journal.events.written")
        .description("Events of a pool's entity stored by the journal, written from this node")
        .tags("pool", pool)
        .register(registry)
        .increment(events);
  }

  public void failed(String pool, Failure failure) {
    Counter.builder("fulcrum.journal.failures")
        .description("Journal writes and recoveries of a pool's entity on this node that failed, by kind")
        .tags("pool", pool, "kind", failure.label)
        .register(registry)
        .increment();
  }
}
