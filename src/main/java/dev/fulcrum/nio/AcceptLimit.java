package dev.fulcrum.nio;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * A listener's {@code max-connections}: at the limit its server stops accepting, and new clients wait in the kernel's
 * backlog (HAProxy's maxconn) until a connection closes. Loops may accept before the listener knows its server (they
 * start as soon as each has registered the listening socket), so the server is given late and checked then.
 */
public final class AcceptLimit {
  private final int max;
  private final AtomicInteger open = new AtomicInteger();
  private volatile NioServer server;
  private volatile boolean stopped;

  public AcceptLimit(int max) {
    this.max = max;
  }

  /** The server is bound: pauses it at once if the connections accepted meanwhile reached the limit. */
  public void bound(NioServer bound) {
    server = bound;
    if (open.get() >= max) bound.pause();
  }

  public void opened() {
    if (open.incrementAndGet() >= max) {
      NioServer current = server;
      if (current != null) current.pause();
    }
  }

  public void closed() {
    NioServer current = server;
    if (open.getAndDecrement() == max && !stopped && current != null) current.resume();
  }

  /** The listener is going away: accepting is not to resume. */
  public void stop() {
    stopped = true;
  }

  public int open() {
    return open.get();
  }
}
