package dev.fulcrum.http.nio;

import dev.fulcrum.config.ProxyProtocolVersion;
import dev.fulcrum.http.wire.HttpHeads;
import dev.fulcrum.http.wire.ParsedResponse;
import dev.fulcrum.http.wire.ProxyProtocol;
import dev.fulcrum.http.wire.ResponseHead;
import dev.fulcrum.http.wire.WireError;
import dev.fulcrum.nio.EventLoop;
import java.io.IOException;
import java.nio.channels.SelectionKey;

/**
 * A connection of the nio engine to one backend: serving one exchange at a time, or idle in its loop's
 * {@link UpstreamPool}, where anything it reads (a close, stray bytes) ends it.
 */
final class UpstreamConnection extends HttpSocket {
  private static final WireError HEAD_TOO_LARGE = WireError.malformed("response head too large");

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

  /**
   * The PROXY header a new connection private to {@code client} begins with (the route sends one), else null: a
   * reused connection began with it already, and a shared one has no client to name.
   */
  byte[] proxyHeader(ClientConnection client) {
    if (reused || !target.key().perClient()) return null;
    boolean binary = target.key().sendProxyProtocol() == ProxyProtocolVersion.V2;
    return ProxyProtocol.header(binary, client.clientSocket(), client.localSocket());
  }

  /**
   * The next response head once all of it arrived (then consumed), a {@link WireError} when it is malformed or does
   * not fit the input buffer, or null while more of it is to come.
   */
  ParsedResponse nextResponseHead() {
    if (unconsumed() == 0) return null;
    int end = headEnd();
    if (end < 0) return inputHasRoom() ? null : HEAD_TOO_LARGE;
    ParsedResponse parsed = parseHead(end, HttpHeads::parseResponse);
    if (parsed instanceof ResponseHead) consume(end);
    return parsed;
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
