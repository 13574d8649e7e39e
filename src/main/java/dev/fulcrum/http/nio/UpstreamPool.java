package dev.fulcrum.http.nio;

import dev.fulcrum.config.HostPort;
import dev.fulcrum.http.proxy.BackendFailure;
import dev.fulcrum.http.proxy.UpstreamKey;
import dev.fulcrum.nio.Connector;
import dev.fulcrum.nio.EventLoop;
import dev.fulcrum.routing.RoutedBackend;
import java.net.InetSocketAddress;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The keep-alive connections of one listener to its backends on one event loop, so that no connection or request
 * changes threads. A backend's connection limit holds across all loops of the listener ({@link Limits}). A request
 * takes an idle connection at once ({@link #acquireNow}) or waits ({@link #acquireLater}) for a new or freed one,
 * which it is never handed from inside another exchange's call into the pool; beyond {@link #MAX_WAITING} it is
 * turned away as busy.
 */
final class UpstreamPool implements EventLoop.Sweepable {
  private static final int MAX_WAITING = 1024;

  /** One backend under one set of backend settings. */
  record Target(HostPort backend, InetSocketAddress address, UpstreamKey key) {
    static Target of(RoutedBackend backend, UpstreamKey key) {
      return new Target(backend.address(), backend.socketAddress(), key);
    }
  }

  /** A request waiting for a connection. */
  interface Waiter {
    void acquired(UpstreamConnection connection);

    void acquireFailed(BackendFailure failure);
  }

  private static final class Slot {
    final ArrayDeque<UpstreamConnection> idle = new ArrayDeque<>();
    final ArrayDeque<Waiter> waiting = new ArrayDeque<>();
    final Limit limit;

    Slot(Limit limit) {
      this.limit = limit;
    }
  }

  /** The connection limits of one listener's backends, shared by its loops' pools. */
  static final class Limits {
    private final ConcurrentHashMap<Target, Limit> limits = new ConcurrentHashMap<>();

    private Limit of(Target target) {
      return limits.computeIfAbsent(target, t -> new Limit(t.key().maxConnections()));
    }
  }

  /** Open connections to one target over all loops, and the pools whose requests wait for one to close. */
  private static final class Limit {
    private final int max;
    private final AtomicInteger open = new AtomicInteger();
    private final ConcurrentLinkedQueue<UpstreamPool> waiting = new ConcurrentLinkedQueue<>();

    Limit(int max) {
      this.max = max;
    }

    boolean tryOpen() {
      int n;
      do {
        n = open.get();
        if (n >= max) return false;
      } while (!open.compareAndSet(n, n + 1));
      return true;
    }

    /** A connection closed: a pool with waiting requests (on whichever loop) may open one in its place. */
    void closed(Target target) {
      open.decrementAndGet();
      wakeNext(target);
    }

    /** Tells the next pool that registered waiting requests that there may be room; it passes it on if it has none. */
    void wakeNext(Target target) {
      UpstreamPool pool = waiting.poll();
      if (pool != null) pool.loop.execute(() -> pool.openForWaiters(target));
    }

    boolean othersWait() {
      return !waiting.isEmpty();
    }
  }

  private final EventLoop loop;
  private final Limits limits;
  private final Map<Target, Slot> slots = new HashMap<>();

  UpstreamPool(EventLoop loop, Limits limits) {
    this.loop = loop;
    this.limits = limits;
    loop.addSweepable(this);
  }

  /** An idle connection to the target, or null. */
  UpstreamConnection acquireNow(Target target) {
    Slot slot = slot(target);
    long keepAlive = target.key().keepAliveTimeout().toNanos();
    UpstreamConnection c;
    while ((c = slot.idle.pollLast()) != null) {
      if (loop.now() - c.idleSince() < keepAlive && c.isOpen()) return c;
      close(c);
    }
    return null;
  }

  /**
   * The waiter is handed a new connection once connected (at once, when a loopback connect completes at once), or a
   * freed one from a task of the loop, or told why there is none: never from inside another exchange's call.
   */
  void acquireLater(Target target, Waiter waiter) {
    Slot slot = slot(target);
    if (slot.limit.tryOpen()) {
      open(target, waiter);
    } else if (slot.waiting.size() < MAX_WAITING) {
      slot.waiting.add(waiter);
      if (slot.waiting.size() == 1) waitForRoom(slot, target);
    } else {
      loop.execute(() -> waiter.acquireFailed(
          new BackendFailure(BackendFailure.Kind.BUSY, "too many requests waiting for " + target.backend())));
    }
  }

  /** The waiter no longer waits (its client went away or it timed out). */
  void cancel(Target target, Waiter waiter) {
    Slot slot = slots.get(target);
    if (slot != null) slot.waiting.remove(waiter);
  }

  /** The connection finished an exchange cleanly and may serve another. */
  void release(UpstreamConnection connection) {
    Slot slot = slots.get(connection.target());
    Waiter next = slot.waiting.poll();
    if (next != null) {
      connection.idle();
      // handed over from the loop, not from inside the exchange that released it
      loop.execute(() -> handOver(slot, connection, next));
    } else if (slot.limit.othersWait()) {
      // requests on another loop wait for the backend's limit: an idle connection here would keep them waiting
      close(connection);
    } else {
      connection.idle();
      slot.idle.addLast(connection);
    }
  }

  /** The connection cannot be reused: closes it, and lets a waiting request open one in its place. */
  void close(UpstreamConnection connection) {
    connection.returned();
    connection.closeChannel();
    slots.get(connection.target()).limit.closed(connection.target());
  }

  void closeIdle(UpstreamConnection connection) {
    Slot slot = slots.get(connection.target());
    if (slot != null) slot.idle.remove(connection);
    close(connection);
  }

  /** The listener stopped: closes every idle connection and stops sweeping. */
  void stop() {
    loop.removeSweepable(this);
    for (Slot slot : slots.values()) {
      while (!slot.idle.isEmpty()) close(slot.idle.poll());
    }
  }

  @Override
  public void sweep(long now) {
    for (Map.Entry<Target, Slot> e : slots.entrySet()) {
      long keepAlive = e.getKey().key().keepAliveTimeout().toNanos();
      Slot slot = e.getValue();
      while (!slot.idle.isEmpty() && now - slot.idle.peekFirst().idleSince() >= keepAlive) {
        close(slot.idle.pollFirst());
      }
    }
  }

  private Slot slot(Target target) {
    Slot slot = slots.get(target);
    if (slot == null) {
      slot = new Slot(limits.of(target));
      slots.put(target, slot);
    }
    return slot;
  }

  private void handOver(Slot slot, UpstreamConnection connection, Waiter waiter) {
    if (!connection.isOpen()) {
      // the backend closed it meanwhile (and the pool counted it closed): the waiter waits for a new one
      slot.waiting.addFirst(waiter);
      openForWaiters(connection.target());
      return;
    }
    waiter.acquired(connection);
  }

  /** Connections of the target closed elsewhere: opens as many as the limit now allows for requests waiting here. */
  private void openForWaiters(Target target) {
    Slot slot = slot(target);
    if (slot.waiting.isEmpty()) {
      // registered for requests that have gone since: the room is another pool's
      slot.limit.wakeNext(target);
      return;
    }
    openWhileRoom(slot, target);
    if (!slot.waiting.isEmpty()) waitForRoom(slot, target);
  }

  /**
   * Registers for a wake when a connection to the target closes anywhere, then looks for room once more: one that
   * closed between the full limit seen and the registration woke nobody.
   */
  private void waitForRoom(Slot slot, Target target) {
    slot.limit.waiting.add(this);
    openWhileRoom(slot, target);
  }

  private void openWhileRoom(Slot slot, Target target) {
    while (!slot.waiting.isEmpty() && slot.limit.tryOpen()) open(target, slot.waiting.poll());
  }

  private void open(Target target, Waiter waiter) {
    UpstreamConnection connection = new UpstreamConnection(loop, this, target);
    // not cancelled when the waiter goes first: a connection made is pooled, a failure is counted
    Connector.connect(loop, target.address(), target.key().connectTimeout().toNanos(), new Connector.Callback() {
      @Override
      public void connected(SocketChannel channel, SelectionKey key) {
        key.attach(connection);
        connection.attach(channel, key);
        waiter.acquired(connection);
      }

      @Override
      public void failed(String reason, boolean timedOut) {
        slot(target).limit.closed(target);
        waiter.acquireFailed(new BackendFailure(
            timedOut ? BackendFailure.Kind.CONNECT_TIMEOUT : BackendFailure.Kind.CONNECT, reason));
      }
    });
  }
}
