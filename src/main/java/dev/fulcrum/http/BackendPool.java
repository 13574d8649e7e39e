package dev.fulcrum.http;

import dev.fulcrum.config.HostPort;
import dev.fulcrum.nio.Connector;
import dev.fulcrum.nio.EventLoop;
import dev.fulcrum.routing.RoutedBackend;
import java.net.InetSocketAddress;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * The keep-alive connections of one listener to its backends on one event loop. Each loop keeps its share of a
 * backend's connection limit, so no connection or request ever changes threads. Requests beyond the limit wait for a
 * connection; beyond {@link #MAX_WAITING} they are turned away as busy.
 */
final class BackendPool implements EventLoop.Sweepable {
  private static final int MAX_WAITING = 1024;

  /** One backend under one set of backend settings. */
  record Target(HostPort backend, InetSocketAddress address, BackendClients.Key key) {}

  private static final class Slot {
    final ArrayDeque<BackendConnection> idle = new ArrayDeque<>();
    final ArrayDeque<Forward> waiting = new ArrayDeque<>();
    int open;
  }

  private final EventLoop loop;
  private final int loops;
  private final Map<Target, Slot> slots = new HashMap<>();

  BackendPool(EventLoop loop, int loops) {
    this.loop = loop;
    this.loops = loops;
    loop.addSweepable(this);
  }

  /** Hands the forward an idle connection, a new one once connected, or a turn when one frees up. */
  void acquire(RoutedBackend backend, BackendClients.Key key, Forward forward) {
    Target target = new Target(backend.address(), backend.socketAddress(), key);
    Slot slot = slots.computeIfAbsent(target, t -> new Slot());
    BackendConnection idle = freshIdle(slot, target);
    if (idle != null) {
      idle.reused = true;
      forward.connected(idle);
    } else if (slot.open < limit(target)) {
      open(slot, target, forward);
    } else if (slot.waiting.size() < MAX_WAITING) {
      slot.waiting.add(forward);
    } else {
      forward.busy();
    }
  }

  /** The forward no longer waits (its client went away or it timed out). */
  void cancel(Forward forward, RoutedBackend backend, BackendClients.Key key) {
    Slot slot = slots.get(new Target(backend.address(), backend.socketAddress(), key));
    if (slot != null) slot.waiting.remove(forward);
  }

  /** The connection finished an exchange cleanly and may serve another. */
  void release(BackendConnection connection) {
    connection.owner = null;
    Slot slot = slots.get(connection.target);
    Forward next = slot.waiting.poll();
    if (next != null) {
      connection.reused = true;
      next.connected(connection);
      return;
    }
    connection.idleSince = loop.now();
    connection.interest(true, false);
    slot.idle.addLast(connection);
  }

  /** The connection cannot be reused: close it, and let a waiting request open a new one. */
  void close(BackendConnection connection) {
    connection.owner = null;
    connection.closeChannel();
    gone(slots.get(connection.target), connection.target);
  }

  void closeIdle(BackendConnection connection) {
    Slot slot = slots.get(connection.target);
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
      long keepAlive = e.getKey().key.keepAliveTimeout().toNanos();
      Slot slot = e.getValue();
      while (!slot.idle.isEmpty() && now - slot.idle.peekFirst().idleSince >= keepAlive) {
        close(slot.idle.pollFirst());
      }
    }
  }

  /** A connection of the slot is gone: a waiting request may open one in its place. */
  private void gone(Slot slot, Target target) {
    slot.open--;
    Forward next = slot.waiting.poll();
    if (next != null) open(slot, target, next);
  }

  private BackendConnection freshIdle(Slot slot, Target target) {
    long keepAlive = target.key.keepAliveTimeout().toNanos();
    BackendConnection c;
    while ((c = slot.idle.pollLast()) != null) {
      if (loop.now() - c.idleSince < keepAlive && c.key.isValid()) return c;
      close(c);
    }
    return null;
  }

  private int limit(Target target) {
    return Math.max(1, (target.key.maxConnections() + loops - 1) / loops);
  }

  private void open(Slot slot, Target target, Forward forward) {
    slot.open++;
    BackendConnection connection = new BackendConnection(loop, this, target);
    // not cancelled when the forward ends first: a connection made is pooled, a failure is counted
    Connector.connect(loop, target.address, target.key.connectTimeout().toNanos(), new Connector.Callback() {
      @Override
      public void connected(SocketChannel channel, SelectionKey key) {
        connection.channel = channel;
        connection.key = key;
        key.attach(connection);
        connection.lastActivity = loop.now();
        forward.connected(connection);
      }

      @Override
      public void failed(String reason, boolean timedOut) {
        gone(slot, target);
        forward.connectFailed(reason, timedOut);
      }
    });
  }
}
