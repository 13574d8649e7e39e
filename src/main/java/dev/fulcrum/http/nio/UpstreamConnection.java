package dev.fulcrum.http.nio;

import dev.fulcrum.nio.EventLoop;
import java.io.IOException;
import java.nio.channels.SelectionKey;

/**
 * A connection of the nio engine to one backend: serving one exchange at a time, or idle in its loop's
 * {@link UpstreamPool}, where anything it reads (a close, stray bytes) ends it.
 */
final class UpstreamConnection extends HttpSocket {
  /** What the exchange using the connection hears of its socket. */
  interface User {
    void backendReady(int readyOps);

    void backendAborted(Throwable cause);
  }

  private final UpstreamPool pool;
  private final UpstreamPool.Target target;
  private User user;
  /** It has served a request before: a failure before any response may be the backend closing it while idle. */
  private boolean reused;
  private long idleSince;

  UpstreamConnection(EventLoop loop, UpstreamPool pool, UpstreamPool.Target target) {
    super(loop);
    this.pool = pool;
    this.target = target;
  }

  UpstreamPool.Target target() {
    return target;
  }

  boolean reused() {
    return reused;
  }

  long idleSince() {
    return idleSince;
  }

  /** Handed to an exchange. */
  void lend(User user) {
    this.user = user;
  }

  /** Back in the pool, idle: it may serve another exchange, which then knows it as reused. */
  void idle() {
    user = null;
    reused = true;
    idleSince = loop.now();
    interest(true, false);
  }

  void returned() {
    user = null;
  }

  @Override
  public void ready(SelectionKey key) throws IOException {
    if (user != null) user.backendReady(key.readyOps());
    else pool.closeIdle(this);
  }

  @Override
  public void abort(Throwable cause) {
    if (user != null) user.backendAborted(cause);
    else pool.closeIdle(this);
  }
}
