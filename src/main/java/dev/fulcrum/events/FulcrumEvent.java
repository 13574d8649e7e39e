package dev.fulcrum.events;

import dev.fulcrum.backend.Health;
import dev.fulcrum.config.HostPort;
import dev.fulcrum.pool.PoolEvent;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;

/**
 * Something that changed, as this node's {@link EventHub} tells its subscribers: the definitions (pools, routes,
 * listeners), which are journaled and the same on every node, and what this node sees of its backends and of the
 * cluster. Every event says its {@link Kind} and when it happened; a journaled one also says its {@link #offset()}
 * (the journal's global ordering number, the {@code id:} of {@code GET /api/events}, from which a stream resumes).
 */
public sealed interface FulcrumEvent {

  Kind kind();

  Instant time();

  /** The pool the event is about, or null when it is about none. */
  default String pool() {
    return null;
  }

  /** The event's position in the journal (> 0) when it is journaled, else 0. */
  default long offset() {
    return 0;
  }

  /** What an event is about; subscriptions filter by it. Its {@link #label()} names it in the HTTP API. */
  enum Kind {
    POOL_CHANGED,
    ROUTE_CHANGED,
    LISTENER_CHANGED,
    BACKEND_HEALTH,
    BACKEND_EJECTED,
    BACKEND_RETURNED,
    MEMBER_CHANGED,
    /** Not published: told to one subscriber whose buffer overflowed, before the events that follow the gap. */
    EVENTS_DROPPED,
    /** Not published: ends the snapshot a subscriber asked for; live events follow. */
    SNAPSHOT_END;

    /** Whether the hub publishes events of this kind (a filter may ask for them); the others go to one subscriber. */
    public boolean published() {
      return this != EVENTS_DROPPED && this != SNAPSHOT_END;
    }

    public String label() {
      return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** The kind named by {@code label} ("pool-changed"), or null. */
    public static Kind byLabel(String label) {
      for (Kind k : values()) if (k.label().equals(label)) return k;
      return null;
    }
  }

  /**
   * A pool's journaled change, read back from the journal, so every node sees every change exactly once and in order.
   *
   * @param version the pool's version after the change (the event's sequence number in the pool's journal)
   * @param type the event's name as in {@code GET /api/pools/{pool}/events} ("backend-added")
   * @param origin where the change came from ("config", "admin-api 127.0.0.1", "java-api", ...)
   * @param offset the journal's global ordering number of the event
   */
  record PoolChanged(String pool, long version, String type, String origin, PoolEvent event, long offset, Instant time)
      implements FulcrumEvent {
    @Override
    public Kind kind() {
      return Kind.POOL_CHANGED;
    }
  }

  /**
   * A listener's route table changed. For the route entities: publish it with
   * {@code FulcrumEvents.get(system).publish(...)} on every node when the node takes the change.
   *
   * @param version the table's version after the change (its entity's sequence number)
   * @param change what changed, as the entity's event names it ("route-added", "routes-reordered")
   * @param detail the changed route or rule, for people (may be empty)
   * @param offset the journal's global ordering number when read from the journal, else 0
   */
  record RouteChanged(String listener, long version, String change, String detail, String origin, long offset, Instant time)
      implements FulcrumEvent {
    @Override
    public Kind kind() {
      return Kind.ROUTE_CHANGED;
    }
  }

  /**
   * A listener was added, bound, drained or removed, or could not bind.
   *
   * @param change "added", "bound", "draining", "removed", "bind-failed", ...
   * @param detail the bind address, or the reason a bind failed
   */
  record ListenerChanged(String listener, long version, String change, String detail, String origin, long offset, Instant time)
      implements FulcrumEvent {
    @Override
    public Kind kind() {
      return Kind.LISTENER_CHANGED;
    }
  }

  /** A backend's health changed on this node (checks, or connect failures on the data plane). */
  record BackendHealthChanged(String pool, HostPort backend, Health from, Health to, String reason, Instant time)
      implements FulcrumEvent {
    @Override
    public Kind kind() {
      return Kind.BACKEND_HEALTH;
    }
  }

  /** This node's outlier detection took the backend out of routing for {@code duration}. */
  record BackendEjected(String pool, HostPort backend, Duration duration, String reason, Instant time) implements FulcrumEvent {
    @Override
    public Kind kind() {
      return Kind.BACKEND_EJECTED;
    }
  }

  /** The backend's ejection on this node is over: it is routed to again (if its health allows). */
  record BackendReturned(String pool, HostPort backend, Instant time) implements FulcrumEvent {
    @Override
    public Kind kind() {
      return Kind.BACKEND_RETURNED;
    }
  }

  /**
   * A cluster member changed as this node sees it.
   *
   * @param member the member's cluster address
   * @param status "joining", "up", "leaving", "exiting", "down", "removed", "unreachable", "reachable"; "left" when this
   *     node itself is no member any more (downed, or stopped)
   * @param self whether the member is this node
   */
  record MemberChanged(String member, String status, boolean self, Instant time) implements FulcrumEvent {
    @Override
    public Kind kind() {
      return Kind.MEMBER_CHANGED;
    }
  }

  /**
   * The snapshot a subscriber asked for is complete: the {@code count} events before this one were the node's state
   * when it subscribed (each backend's health as {@link BackendHealthChanged} with {@code from == to} and reason
   * {@value #SNAPSHOT}, each pool's version as {@link PoolChanged} of type {@value #SNAPSHOT}, each route table's
   * version as {@link RouteChanged} of change {@value #SNAPSHOT}), the live events follow. {@code problem}: why the
   * state could not be read in full (then re-read it, e.g. {@code GET /api/pools}).
   */
  record SnapshotEnd(int count, java.util.Optional<String> problem, Instant time) implements FulcrumEvent {
    @Override
    public Kind kind() {
      return Kind.SNAPSHOT_END;
    }
  }

  /** The type, reason or change of a snapshot's events. */
  String SNAPSHOT = "snapshot";

  /**
   * {@code count} events meant for this subscriber were dropped (the oldest first) because it fell behind; {@code total}
   * counts every drop of its subscription. Re-read the state you need (e.g. {@code GET /api/pools}).
   */
  record EventsDropped(long count, long total, Instant time) implements FulcrumEvent {
    @Override
    public Kind kind() {
      return Kind.EVENTS_DROPPED;
    }
  }
}
