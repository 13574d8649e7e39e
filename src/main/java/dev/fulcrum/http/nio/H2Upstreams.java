package dev.fulcrum.http.nio;

import dev.fulcrum.http.proxy.BackendFailure;
import dev.fulcrum.nio.EventLoop;
import dev.fulcrum.routing.BackendStats;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * The HTTP/2 connections of one loop's {@link UpstreamPool} to the backends of pools with {@code protocol = h2 | h2c}:
 * a request takes a stream on a connection with room ({@link H2Upstream#canOpen}, which honours the backend's
 * SETTINGS_MAX_CONCURRENT_STREAMS and the pool's {@code max-concurrent-streams}); when every connection is full it
 * waits in the target's queue (its {@code queue-size}, until its {@code queue-timeout}) while a new connection is
 * opened through the pool, which holds the backend's {@code max-connections} over all loops.
 */
final class H2Upstreams {
  /** A request waiting for a stream. */
  interface Waiter {
    void streamReady(H2Upstream connection);

    void acquireFailed(BackendFailure failure);

    default void queued() {}
  }

  private record Queued(Waiter waiter, long deadline, BackendStats stats) {}

  private final class Group implements UpstreamPool.Waiter {
    final UpstreamPool.Target target;
    final List<H2Upstream> live = new ArrayList<>();
    final ArrayDeque<Queued> waiting = new ArrayDeque<>();
    boolean connecting;

    Group(UpstreamPool.Target target) {
      this.target = target;
    }

    H2Upstream available() {
      for (H2Upstream c : live) if (c.canOpen()) return c;
      return null;
    }

    @Override
    public void acquired(UpstreamConnection socket) {
      connecting = false;
      live.add(new H2Upstream(H2Upstreams.this, socket, target.key().protocol().maxStreams()));
      pool.sweepFromNow();
      serve(this);
    }

    @Override
    public void acquireFailed(BackendFailure failure) {
      connecting = false;
      if (available() != null) {
        serve(this);
        return;
      }
      // nothing can carry the waiting requests: each tries its next backend or is answered
      Queued[] failed = waiting.toArray(Queued[]::new);
      waiting.clear();
      for (Queued q : failed) {
        q.stats.queueChanged(-1);
        q.waiter.acquireFailed(failure);
      }
    }
  }

  private final EventLoop loop;
  private final UpstreamPool pool;
  private final Map<UpstreamPool.Target, Group> groups = new HashMap<>();

  H2Upstreams(EventLoop loop, UpstreamPool pool) {
    this.loop = loop;
    this.pool = pool;
  }

  /**
   * The waiter gets a stream at once when a connection has room and nobody waits before it; else it queues, and is
   * handed a connection with room from a task of the loop, or told why there is none.
   */
  void acquire(UpstreamPool.Target target, BackendStats stats, Waiter waiter) {
    Group g = groups.computeIfAbsent(target, Group::new);
    H2Upstream ready = g.waiting.isEmpty() ? g.available() : null;
    if (ready != null) {
      waiter.streamReady(ready);
      return;
    }
    if (g.waiting.size() >= target.key().queueSize()) {
      loop.execute(() -> waiter.acquireFailed(new BackendFailure(BackendFailure.Kind.BUSY,
          "the queue for " + target.backend() + " is full (" + target.key().queueSize() + " requests)")));
      return;
    }
    stats.queueChanged(1);
    g.waiting.add(new Queued(waiter, loop.now() + target.key().queueTimeout().toNanos(), stats));
    pool.sweepFromNow();
    waiter.queued();
    connectIfNeeded(g, stats);
  }

  /** The waiter no longer waits. */
  void cancel(UpstreamPool.Target target, Waiter waiter) {
    Group g = groups.get(target);
    if (g == null) return;
    for (Iterator<Queued> it = g.waiting.iterator(); it.hasNext(); ) {
      Queued q = it.next();
      if (q.waiter == waiter) {
        it.remove();
        q.stats.queueChanged(-1);
        return;
      }
    }
  }

  /** A stream ended (or the backend said GOAWAY): requests waiting for the target may take the room. */
  void streamFreed(H2Upstream connection) {
    Group g = groups.get(connection.target());
    if (g != null && !g.waiting.isEmpty()) loop.execute(() -> serve(g));
  }

  /** The connection ended: the pool counts it closed, and waiting requests get a new one. */
  void closed(H2Upstream connection, UpstreamConnection socket) {
    pool.close(socket);
    Group g = groups.get(connection.target());
    if (g == null) return;
    g.live.remove(connection);
    if (!g.waiting.isEmpty()) loop.execute(() -> serve(g));
  }

  /** Answers requests queued past their queue timeout, and closes connections idle past the keep-alive timeout. */
  void sweep(long now) {
    for (Group g : groups.values()) {
      while (!g.waiting.isEmpty() && now - g.waiting.peekFirst().deadline >= 0) {
        Queued late = g.waiting.pollFirst();
        late.stats.queueChanged(-1);
        late.waiter.acquireFailed(new BackendFailure(BackendFailure.Kind.QUEUE_TIMEOUT,
            "waited " + g.target.key().queueTimeout().toMillis() + " ms for a stream to " + g.target.backend()));
      }
      long keepAlive = g.target.key().keepAliveTimeout().toNanos();
      for (H2Upstream c : g.live.toArray(H2Upstream[]::new)) {
        if (c.idle() && now - c.idleSince() >= keepAlive) c.close("idle past the keep-alive timeout");
      }
    }
  }

  /** Whether nothing here times out: no connection, no stream waiting. */
  boolean isEmpty() {
    for (Group g : groups.values()) if (!g.live.isEmpty() || !g.waiting.isEmpty()) return false;
    return true;
  }

  /** The listener stopped: every connection closes. */
  void stop() {
    for (Group g : groups.values()) {
      for (H2Upstream c : g.live.toArray(H2Upstream[]::new)) c.close("the listener stopped");
    }
  }

  private void serve(Group g) {
    while (!g.waiting.isEmpty()) {
      H2Upstream c = g.available();
      if (c == null) break;
      Queued q = g.waiting.pollFirst();
      q.stats.queueChanged(-1);
      q.waiter.streamReady(c);
    }
    if (!g.waiting.isEmpty()) connectIfNeeded(g, g.waiting.peekFirst().stats);
  }

  /** One connect at a time per target: a new connection usually has room for every request waiting. */
  private void connectIfNeeded(Group g, BackendStats stats) {
    if (g.connecting || g.available() != null) return;
    g.connecting = true;
    pool.acquireLater(g.target, stats, g);
  }
}
