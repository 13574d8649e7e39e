package dev.fulcrum.http;

import dev.fulcrum.nio.EventLoop;
import java.io.IOException;
import java.nio.channels.SelectionKey;

/**
 * A connection of the nio engine to one backend: busy with one {@link Forward} at a time, or idle in its loop's
 * {@link BackendPool}, where anything it reads (a close, stray bytes) ends it.
 */
final class BackendConnection extends HttpSocket {
  final BackendPool.Target target;
  Forward owner;
  /** It has served a request before: a failure before any response may be the backend closing it while idle. */
  boolean reused;
  long idleSince;
  private final BackendPool pool;

  BackendConnection(EventLoop loop, BackendPool pool, BackendPool.Target target) {
    super(loop);
    this.pool = pool;
    this.target = target;
  }

  @Override
  public void ready(SelectionKey key) throws IOException {
    if (owner != null) {
      owner.backendReady(key.readyOps());
    } else {
      pool.closeIdle(this);
    }
  }

  @Override
  public void abort(Throwable cause) {
    if (owner != null) owner.backendAborted(cause);
    else pool.closeIdle(this);
  }
}
