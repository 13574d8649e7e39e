package dev.fulcrum.http.nio;

import dev.fulcrum.config.HostPort;
import dev.fulcrum.http.proxy.BackendFailure;
import dev.fulcrum.http.proxy.UpstreamKey;
import dev.fulcrum.nio.Connector;
import dev.fulcrum.nio.EventLoop;
import dev.fulcrum.routing.BackendStats;
import dev.fulcrum.routing.RoutedBackend;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The keep-alive connections of one listener to its backends on one event loop, so that no connection or request
 * changes threads. As HAProxy's {@code maxconn}, {@code maxqueue} and {@code timeout queue} per server: a backend's
 * connection limit and queue hold across all loops of the listener ({@link Limits}); a request takes an idle
 * connection at once or waits in the queue for a new or freed one ({@link #acquire}), which it is never handed from
 * inside another exchange's call into the pool, until the queue timeout.
 */
final class UpstreamPool implements EventLoop.Sweepable {
  /**
   * One backend under one set of backend settings; with a client when its connections are that client's alone (they
   * begin with a PROXY header naming it).
   */
  record Target(HostPort backend, InetSocketAddress address, UpstreamKey key, InetSocketAddress client) {
    static Target of(RoutedBackend backend, UpstreamKey key, InetSocketAddress client) {
      return new Target(backend.address(), backend.socketAddress(), key, key.perClient() ? client : null);
    }

    /** What the backend's connection limit and queue count over: every client's connections together. */
    Target shared() {
      return client == null ? this : new Target(backend, address, key, null);
    }
  }

  /** A request waiting for a connection. */
  interface Waiter {
    void acquired(UpstreamConnection connection);

    /** It goes into the queue: no connection may be opened now (for the access log's Tw). */
    default void queued() {}

    /** It leaves the queue, or never entered it: a connect starts, or a freed connection is handed to it. */
    default void connecting() {}

    void acquireFailed(BackendFailure failure);
  }

  /** A waiter in the queue, until when it may wait, and whose queue length it counts in. */
  private record Queued(Waiter waiter, long deadline, BackendStats stats) {}

  private static final class Slot {
    final ArrayDeque<UpstreamConnection> idle = new ArrayDeque<>();
    final ArrayDeque<Queued> waiting = new ArrayDeque<>();
    final Limit limit;

    Slot(Limit limit) {
      this.limit = limit;
    }
  }

  /** The connection limits and queues of one listener's backends, shared by its loops' pools. */
  static final class Limits {
    private final ConcurrentHashMap<Target, Limit> limits = new ConcurrentHashMap<>();

    private Limit of(Target target) {
      return limits.computeIfAbsent(target.shared(), t -> new Limit(t.key().maxConnections(), t.key().queueSize()));
    }
  }

  /** Open connections to and requests queued for one target over all loops, and the pools whose requests wait. */
  private static final class Limit {
    private final int maxOpen;
    private final int maxQueued;
    private final AtomicInteger open = new AtomicInteger();
    private final AtomicInteger queued = new AtomicInteger();
    private final ConcurrentLinkedQueue<UpstreamPool> waiting = new ConcurrentLinkedQueue<>();

    Limit(int maxOpen, int maxQueued) {
      this.maxOpen = maxOpen;
      this.maxQueued = maxQueued;
    }

    boolean tryOpen() {
      return tryIncrement(open, maxOpen);
    }

    boolean tryQueue() {
      return tryIncrement(queued, maxQueued);
    }

    private static boolean tryIncrement(AtomicInteger counter, int max) {
      int n;
      do {
        n = counter.get();
        if (n >= max) return false;
      } while (!counter.compareAndSet(n, n + 1));
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

    /**
     * Whether a pool other than {@code self} registered waiting requests. Its own registration is stale when it asks
     * (its queue is empty): counting it closed a good connection each time a burst's queue had just drained, and
     * opened a new one for the next request (h2load -c4 -m100 on one loop: a connect per ~50 requests).
     */
    boolean othersWait(UpstreamPool self) {
      for (UpstreamPool pool : waiting) {
        if (pool != self) return true;
      }
      return false;
    }
  }

  private final EventLoop loop;
  private final Limits limits;
  private final Map<Target, Slot> slots = new HashMap<>();
  private final H2Upstreams h2;

  UpstreamPool(EventLoop loop, Limits limits) {
    this.loop = loop;
    this.limits = limits;
    this.h2 = new H2Upstreams(loop, this);
  }

  /**
   * Whether the loop sweeps this pool: only while it holds something that times out (idle connections, queued
   * requests, HTTP/2 connections), so that a loop with no traffic sleeps instead of waking every sweep. Loop thread only.
   */
  private boolean swept;

  /** Something that times out was added: the loop sweeps this pool from now on. Loop thread only. */
  void sweepFromNow() {
    if (swept) return;
    swept = true;
    loop.addSweepable(this);
  }

  /** The HTTP/2 connections of this loop, for pools with {@code protocol = h2 | h2c}; counted in the same limits. */
  H2Upstreams h2() {
    return h2;
  }

  /**
   * Gives the waiter an idle connection at once (it hears {@code connecting()} then {@code acquired()}), or puts it in
   * line for one: the one way an exchange asks for a connection, so each tells the access log the same phases.
   */
  void acquire(Target target, BackendStats stats, Waiter waiter) {
    UpstreamConnection idle = acquireNow(target);
    if (idle != null) {
      waiter.connecting();
      waiter.acquired(idle);
    } else {
      acquireLater(target, stats, waiter);
    }
  }

  /** An idle connection to the target, or null. */
  private UpstreamConnection acquireNow(Target target) {
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
   * freed one from a task of the loop, or told why there is none (queue full, queue timeout, connect failed): never
   * from inside another exchange's call. {@code stats} counts it while it is queued.
   */
  void acquireLater(Target target, BackendStats stats, Waiter waiter) {
    Slot slot = slot(target);
    if (slot.limit.tryOpen()) {
      open(target, waiter);
    } else if (slot.limit.tryQueue()) {
      stats.queueChanged(1);
      waiter.queued();
      slot.waiting.add(new Queued(waiter, loop.now() + target.key().queueTimeout().toNanos(), stats));
      sweepFromNow();
      if (slot.waiting.size() == 1) waitForRoom(slot, target);
    } else {
      loop.execute(() -> waiter.acquireFailed(new BackendFailure(BackendFailure.Kind.BUSY,
          "the queue for " + target.backend() + " is full (" + target.key().queueSize() + " requests)")));
    }
  }

  /** The waiter no longer waits (its client went away). */
  void cancel(Target target, Waiter waiter) {
    Slot slot = slots.get(target);
    if (slot == null) return;
    for (Iterator<Queued> it = slot.waiting.iterator(); it.hasNext(); ) {
      Queued queued = it.next();
      if (queued.waiter == waiter) {
        it.remove();
        dequeued(slot, queued);
        return;
      }
    }
  }

  /** The connection finished an exchange cleanly and may serve another. */
  void release(UpstreamConnection connection) {
    Slot slot = slots.get(connection.target());
    Queued next = nextWaiting(slot);
    if (next != null) {
      connection.idle();
      // handed over from the loop, not from inside the exchange that released it
      loop.execute(() -> handOver(slot, connection, next));
    } else if (slot.limit.othersWait(this)) {
      // requests on another loop wait for the backend's limit: an idle connection here would keep them waiting
      close(connection);
    } else {
      connection.idle();
      slot.idle.addLast(connection);
      sweepFromNow();
    }
  }

  /** The connection cannot be reused: closes it, and lets a waiting request open one in its place. */
  /** An exchange is done with {@code connection}: back to the pool when it can serve another request, else closed. */
  void giveBack(UpstreamConnection connection, boolean reusable) {
    if (reusable) release(connection);
    else close(connection);
  }

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
    swept = false;
    for (Slot slot : slots.values()) {
      while (!slot.idle.isEmpty()) close(slot.idle.poll());
    }
    h2.stop();
  }

  /** Closes connections idle past their keep-alive timeout, and answers requests queued past their queue timeout. */
  @Override
  public void sweep(long now) {
    h2.sweep(now);
    for (Map.Entry<Target, Slot> e : slots.entrySet()) {
      Target target = e.getKey();
      Slot slot = e.getValue();
      long keepAlive = target.key().keepAliveTimeout().toNanos();
      while (!slot.idle.isEmpty() && now - slot.idle.peekFirst().idleSince() >= keepAlive) {
        close(slot.idle.pollFirst());
      }
      // one timeout per target: the queue is in deadline order
      while (!slot.waiting.isEmpty() && now - slot.waiting.peekFirst().deadline >= 0) {
        Queued late = nextWaiting(slot);
        late.waiter.acquireFailed(new BackendFailure(BackendFailure.Kind.QUEUE_TIMEOUT,
            "waited " + target.key().queueTimeout().toMillis() + " ms in the queue for " + target.backend()));
      }
    }
    if (!h2.isEmpty()) return;
    for (Slot slot : slots.values()) if (!slot.idle.isEmpty() || !slot.waiting.isEmpty()) return;
    // nothing left to time out (the loop sweeps a copy of its sweepables: removing here is safe)
    swept = false;
    loop.removeSweepable(this);
  }

  private Slot slot(Target target) {
    Slot slot = slots.get(target);
    if (slot == null) {
      slot = new Slot(limits.of(target));
      slots.put(target, slot);
    }
    return slot;
  }

  private Queued nextWaiting(Slot slot) {
    Queued next = slot.waiting.poll();
    if (next != null) dequeued(slot, next);
    return next;
  }

  private static void dequeued(Slot slot, Queued queued) {
    slot.limit.queued.decrementAndGet();
    queued.stats.queueChanged(-1);
  }

  private void handOver(Slot slot, UpstreamConnection connection, Queued queued) {
    if (!connection.isOpen()) {
      // the backend closed it meanwhile (and the pool counted it closed): the waiter waits for a new one
      slot.limit.queued.incrementAndGet();
      queued.stats.queueChanged(1);
      slot.waiting.addFirst(queued);
      sweepFromNow();
      openForWaiters(connection.target());
      return;
    }
    queued.waiter.connecting();
    queued.waiter.acquired(connection);
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
    while (!slot.waiting.isEmpty() && slot.limit.tryOpen()) open(target, nextWaiting(slot).waiter);
  }

  /**
   * TLS to the backend: the handshake is done (bounded by the connect timeout) before the connection is handed over,
   * so an exchange only ever writes to a connection that can take its bytes; a failed one counts as a failed connect.
   */
  private void handshake(Target target, Waiter waiter, UpstreamConnection connection, SocketChannel channel,
      SelectionKey key) {
    // h2 is agreed on by ALPN (RFC 9113 §3.2): a backend that does not choose it is not spoken HTTP/2 to
    boolean h2 = target.key().protocol().http2();
    connection.attach(channel, h2
        ? target.key().tls().clientTransport(channel, target.backend().host(), target.backend().port(), "h2")
        : target.key().tls().clientTransport(channel, target.backend().host(), target.backend().port()), key);
    final class Handshaking implements EventLoop.Handler {
      final EventLoop.Timer timer = loop.schedule(target.key().connectTimeout().toNanos(), () -> fail(
          "the TLS handshake with " + target.backend() + " did not complete within " + target.key().connectTimeout().toMillis() + " ms", true));
      boolean ended;

      @Override
      public void ready(SelectionKey ignored) {
        step();
      }

      void step() {
        if (ended) return;
        boolean done;
        try {
          done = connection.transport().handshake();
        } catch (IOException e) {
          fail("TLS with " + target.backend() + " failed: " + dev.fulcrum.Failures.describe(e), false);
          return;
        }
        if (!done) {
          key.interestOps(connection.transport().wantsWrite() ? SelectionKey.OP_WRITE : SelectionKey.OP_READ);
          return;
        }
        if (h2 && !"h2".equals(connection.transport().applicationProtocol())) {
          fail(target.backend() + " did not agree to h2 by ALPN (pool protocol = h2)", false);
          return;
        }
        ended = true;
        timer.cancel();
        key.interestOps(0);
        key.attach(connection);
        waiter.acquired(connection);
      }

      void fail(String reason, boolean timedOut) {
        if (ended) return;
        ended = true;
        timer.cancel();
        connection.closeChannel();
        slot(target).limit.closed(target);
        waiter.acquireFailed(new BackendFailure(
            timedOut ? BackendFailure.Kind.CONNECT_TIMEOUT : BackendFailure.Kind.CONNECT, reason));
      }

      @Override
      public void abort(Throwable cause) {
        fail("TLS with " + target.backend() + " failed: " + dev.fulcrum.Failures.describe(cause), false);
      }
    }
    Handshaking handshaking = new Handshaking();
    key.attach(handshaking);
    handshaking.step();
  }

  private void open(Target target, Waiter waiter) {
    waiter.connecting();
    UpstreamConnection connection = new UpstreamConnection(loop, this, target);
    // not cancelled when the waiter goes first: a connection made is pooled, a failure is counted
    Connector.connect(loop, target.address(), target.key().connectTimeout().toNanos(), new Connector.Callback() {
      @Override
      public void connected(SocketChannel channel, SelectionKey key) {
        if (target.key().tls() != null) {
          handshake(target, waiter, connection, channel, key);
          return;
        }
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
