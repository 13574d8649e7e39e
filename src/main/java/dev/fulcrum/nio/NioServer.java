package dev.fulcrum.nio;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.Channel;
import java.nio.channels.SelectionKey;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.Done;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A listening socket that every event loop accepts from, so new connections spread over the loops without being
 * handed between threads; each connection then stays on the loop that accepted it.
 */
public final class NioServer {
  private static final Logger log = LoggerFactory.getLogger(NioServer.class);
  private static final int BACKLOG = 1024;
  /** Accepts per wake-up, so one busy listener cannot starve the loop's open connections. */
  private static final int ACCEPTS_PER_TURN = 64;
  /** How long accepting pauses after it failed, e.g. when the process ran out of file descriptors. */
  private static final long ACCEPT_PAUSE_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

  /** Takes an accepted connection (blocking mode still on) on the loop that accepted it. */
  public interface Accepted {
    void accept(EventLoop loop, SocketChannel channel);
  }

  private final ServerSocketChannel server;
  private final InetSocketAddress localAddress;
  private final EventLoop[] loops;
  private final Accepted accepted;
  private final RateLimitedCounter acceptFailures;
  private final RateLimitedCounter callbackFailures;
  private volatile boolean paused;

  private NioServer(ServerSocketChannel server, EventLoop[] loops, Accepted accepted, String name) throws IOException {
    this.server = server;
    this.localAddress = (InetSocketAddress) server.getLocalAddress();
    this.loops = loops;
    this.accepted = accepted;
    this.acceptFailures = new RateLimitedCounter(count -> log.warn(
        "listener {}: {} accept(s) failed (out of file descriptors?); accepting pauses briefly after each", name, count));
    this.callbackFailures = new RateLimitedCounter((count, sample) -> log.error(
        "listener {}: taking an accepted connection failed {} time(s), each closed; the latest:", name, count, sample));
  }

  /** Binds and starts accepting on every loop; the stage fails if the address is taken. */
  public static CompletionStage<NioServer> bind(
      EventLoops loops, String host, int port, String name, Accepted accepted) {
    ServerSocketChannel server = null;
    try {
      server = ServerSocketChannel.open();
      server.setOption(StandardSocketOptions.SO_REUSEADDR, true);
      server.bind(new InetSocketAddress(host, port), BACKLOG);
      server.configureBlocking(false);
      NioServer nio = new NioServer(server, loops.all(), accepted, name);
      return nio.onEachLoop(loop -> loop.register(nio.server, SelectionKey.OP_ACCEPT, nio.new Acceptor(loop)))
          .thenApply(done -> nio);
    } catch (IOException | RuntimeException e) {
      closeQuietly(server);
      return CompletableFuture.failedFuture(e);
    }
  }

  public InetSocketAddress localAddress() {
    return localAddress;
  }

  /** Accepted connections closed at once because {@link Accepted#accept} threw. */
  public long acceptCallbackFailures() {
    return callbackFailures.total();
  }

  /** Stops taking connections until {@link #resume}; they wait in the kernel's backlog meanwhile (HAProxy's maxconn). */
  public void pause() {
    paused = true;
    onEachLoop(loop -> setAccepting(loop, false));
  }

  public void resume() {
    paused = false;
    onEachLoop(loop -> setAccepting(loop, true));
  }

  /** Deregisters the socket from every loop before closing it, so the port is free once this completes. */
  public CompletionStage<Done> unbind() {
    return onEachLoop(loop -> loop.deregister(server)).thenApply(done -> {
      closeQuietly(server);
      return Done.getInstance();
    });
  }

  private void setAccepting(EventLoop loop, boolean accepting) {
    SelectionKey key = loop.keyOf(server);
    if (key != null && key.isValid()) key.interestOps(accepting && !paused ? SelectionKey.OP_ACCEPT : 0);
  }

  private interface LoopAction {
    void run(EventLoop loop) throws IOException;
  }

  private CompletableFuture<Void> onEachLoop(LoopAction action) {
    CompletableFuture<?>[] all = new CompletableFuture<?>[loops.length];
    for (int i = 0; i < loops.length; i++) {
      EventLoop loop = loops[i];
      CompletableFuture<Void> done = new CompletableFuture<>();
      all[i] = done;
      loop.execute(() -> {
        try {
          action.run(loop);
          done.complete(null);
        } catch (IOException | RuntimeException e) {
          done.completeExceptionally(e);
        }
      });
    }
    return CompletableFuture.allOf(all);
  }

  private static void closeQuietly(Channel channel) {
    if (channel == null) return;
    try {
      channel.close();
    } catch (IOException ignored) {
      // nothing left to release
    }
  }

  /** Takes new connections off the listening socket on one loop. */
  private final class Acceptor implements EventLoop.Handler {
    private final EventLoop loop;

    Acceptor(EventLoop loop) {
      this.loop = loop;
    }

    @Override
    public void ready(SelectionKey key) {
      for (int i = 0; i < ACCEPTS_PER_TURN && !paused; i++) {
        SocketChannel client;
        try {
          client = server.accept();
        } catch (IOException e) {
          pause(key);
          return;
        }
        if (client == null) return;
        hand(client);
      }
    }

    /** A bug in the callback costs only this connection: left to the loop, it would close the listening socket. */
    private void hand(SocketChannel client) {
      try {
        accepted.accept(loop, client);
      } catch (RuntimeException e) {
        callbackFailures.increment(e);
        closeQuietly(client);
      }
    }

    /** A failing accept would be retried in a busy loop: wait a little instead, as HAProxy does. */
    private void pause(SelectionKey key) {
      acceptFailures.increment();
      key.interestOps(0);
      loop.schedule(ACCEPT_PAUSE_NANOS, () -> setAccepting(loop, true));
    }

    @Override
    public void abort(Throwable cause) {
      closeQuietly(server);
    }
  }
}
