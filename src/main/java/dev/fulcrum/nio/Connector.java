package dev.fulcrum.nio;

import dev.fulcrum.Failures;
import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnknownHostException;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;

/**
 * One non-blocking connect to a backend on an event loop, bounded by a timeout that also covers looking up a backend
 * given by host name (which runs off the loop). Exactly one of the callbacks runs, on the loop, unless it is
 * cancelled first.
 */
public final class Connector implements EventLoop.Handler, Runnable {
  /** Backends configured by host name are looked up here, never on an event loop. */
  private static final Resolver RESOLVER = new Resolver("fulcrum-resolver", 4, 256, InetAddress::getByName);

  /** What a connect ends in. */
  public interface Callback {
    /** The channel is connected, non-blocking, with TCP_NODELAY unless asked otherwise; the key is registered with no interest and no attachment. */
    void connected(SocketChannel channel, SelectionKey key);

    void failed(String reason, boolean timedOut);
  }

  private final EventLoop loop;
  private final Callback callback;
  private final boolean noDelay;
  /** A health check's connect (see {@link #check}). */
  private final boolean check;
  private SocketChannel channel;
  /** Null when the caller bounds the connect itself. */
  private EventLoop.Timer timeout;
  private long timeoutNanos;
  private boolean finished;

  private Connector(EventLoop loop, Callback callback, boolean noDelay, boolean check) {
    this.loop = loop;
    this.callback = callback;
    this.noDelay = noDelay;
    this.check = check;
  }

  /** Starts connecting; loop thread only. */
  public static Connector connect(EventLoop loop, InetSocketAddress address, long timeoutNanos, Callback callback) {
    Connector connector = new Connector(loop, callback, true, false);
    connector.start(address, timeoutNanos);
    return connector;
  }

  /**
   * A health check's connect, where what a check costs matters more than what it learns (a node checks hundreds of
   * backends a second, most of them refusing while they are down). {@code noDelay} false leaves Nagle's algorithm on
   * and saves a system call, for a check that sends nothing. {@code timeoutNanos} 0: no timeout of its own, the caller
   * bounds the connect (and cancels it), as checks do on their shared grid rather than with a timer per connect.
   *
   * <p>A connect to a loopback address is over (connected or refused) by the time the kernel's connect call returns, so
   * it is settled at once, in this call (the callback may run before this returns), without a round through the
   * selector (an epoll registration, a wake-up, a deregistration). A failed connect is learnt from {@code finishConnect}
   * only: the selector reports it as ready for everything, as it reports a connect whose server spoke first (SSH,
   * MySQL, SMTP greet at once), so readiness alone cannot tell a refusal from a greeting.
   */
  public static Connector check(EventLoop loop, InetSocketAddress address, long timeoutNanos, Callback callback,
      boolean noDelay) {
    Connector connector = new Connector(loop, callback, noDelay, true);
    connector.start(address, timeoutNanos);
    return connector;
  }

  /** The connect is no longer wanted: no callback will run and the channel is closed. */
  public void cancel() {
    if (finish()) closeChannel();
  }

  private void start(InetSocketAddress address, long timeoutNanos) {
    this.timeoutNanos = timeoutNanos;
    if (timeoutNanos > 0) timeout = loop.schedule(timeoutNanos, this);
    if (!address.isUnresolved()) {
      open(address);
      return;
    }
    String host = address.getHostString();
    RESOLVER.resolve(host).whenComplete((resolved, failure) -> loop.execute(() -> {
      if (failure == null) open(new InetSocketAddress(resolved, address.getPort()));
      else if (Failures.unwrap(failure) instanceof UnknownHostException) fail("unknown host " + host, false);
      else fail(Failures.describe(failure), false);
    }));
  }

  private void open(InetSocketAddress address) {
    if (finished) return;
    try {
      // of the address's family: an IPv6 socket connecting to an IPv4 address costs a system call more (IPV6_V6ONLY)
      channel = SocketChannel.open(
          address.getAddress() instanceof Inet6Address ? StandardProtocolFamily.INET6 : StandardProtocolFamily.INET);
      channel.configureBlocking(false);
      if (noDelay) channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
      if (channel.connect(address) || check && address.getAddress().isLoopbackAddress() && channel.finishConnect()) {
        succeed(loop.register(channel, 0, null));
      } else {
        loop.register(channel, SelectionKey.OP_CONNECT, this);
      }
    } catch (IOException e) {
      fail(Failures.describe(e), false);
    }
  }

  @Override
  public void ready(SelectionKey key) {
    try {
      if (channel.finishConnect()) {
        key.interestOps(0);
        key.attach(null);
        succeed(key);
      }
    } catch (IOException e) {
      fail(Failures.describe(e), false);
    }
  }

  @Override
  public void abort(Throwable cause) {
    fail(Failures.describe(cause), false);
  }

  /** The timeout ran out (the connector is its own timer task: no lambda per connect). */
  @Override
  public void run() {
    fail("connect timed out after " + timeoutNanos / 1_000_000 + " ms", true);
  }

  private void succeed(SelectionKey key) {
    if (finish()) callback.connected(channel, key);
  }

  private void fail(String reason, boolean timedOut) {
    if (!finish()) return;
    closeChannel();
    callback.failed(reason, timedOut);
  }

  /** True for the first of success, failure and cancel only; a live timeout would hold this for its full length. */
  private boolean finish() {
    if (finished) return false;
    finished = true;
    if (timeout != null) timeout.cancel();
    return true;
  }

  private void closeChannel() {
    if (channel == null) return;
    try {
      channel.close();
    } catch (IOException ignored) {
      // nothing left to release
    }
  }
}
