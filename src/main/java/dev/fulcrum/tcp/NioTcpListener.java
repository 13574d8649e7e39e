package dev.fulcrum.tcp;

import dev.fulcrum.config.TcpListenerSettings;
import dev.fulcrum.nio.EventLoop;
import dev.fulcrum.nio.EventLoops;
import dev.fulcrum.routing.TableRef;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
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
 * The L4 listener on Fulcrum's event loops ({@code engine = nio}). Every loop accepts from the same socket, so new
 * connections spread over the loops without being handed between threads; each connection then stays on the loop
 * that accepted it.
 */
final class NioTcpListener extends CountingTcpListener {
  private static final Logger log = LoggerFactory.getLogger(NioTcpListener.class);
  private static final int BACKLOG = 1024;
  /** Accepts per wake-up, so one busy listener cannot starve the loop's open connections. */
  private static final int ACCEPTS_PER_TURN = 64;
  /** How long accepting pauses after it failed, e.g. when the process ran out of file descriptors. */
  private static final long ACCEPT_PAUSE_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

  private final TableRef table;
  private final ServerSocketChannel server;
  private final InetSocketAddress localAddress;
  private final EventLoop[] loops;
  private final RateLimitedCounter acceptFailures;

  private NioTcpListener(TcpListenerSettings settings, TableRef table, ServerSocketChannel server, EventLoop[] loops)
      throws IOException {
    super(settings);
    this.table = table;
    this.server = server;
    this.localAddress = (InetSocketAddress) server.getLocalAddress();
    this.loops = loops;
    this.acceptFailures = new RateLimitedCounter(count -> log.warn(
        "listener {}: {} accept(s) failed (out of file descriptors?); accepting pauses briefly after each",
        settings.name(), count));
  }

  static CompletionStage<TcpListener> start(EventLoops loops, TcpListenerSettings settings, TableRef table) {
    ServerSocketChannel server = null;
    try {
      server = ServerSocketChannel.open();
      server.setOption(StandardSocketOptions.SO_REUSEADDR, true);
      server.bind(new InetSocketAddress(settings.bind().host(), settings.bind().port()), BACKLOG);
      server.configureBlocking(false);
      NioTcpListener listener = new NioTcpListener(settings, table, server, loops.all());
      return listener.onEachLoop(loop -> loop.register(listener.server, SelectionKey.OP_ACCEPT, listener.new Acceptor(loop)))
          .thenApply(done -> (TcpListener) listener);
    } catch (IOException | RuntimeException e) {
      closeQuietly(server);
      return CompletableFuture.failedFuture(e);
    }
  }

  @Override
  public InetSocketAddress localAddress() {
    return localAddress;
  }

  /** Deregisters the socket from every loop before closing it, so the port is free once this completes. */
  @Override
  public CompletionStage<Done> unbind() {
    return onEachLoop(loop -> loop.deregister(server)).thenApply(done -> {
      closeQuietly(server);
      return Done.getInstance();
    });
  }

  void connectionClosed() {
    openConnections.decrementAndGet();
  }

  void noBackend() {
    noBackend.increment();
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

  private static void closeQuietly(ServerSocketChannel server) {
    if (server == null) return;
    try {
      server.close();
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
      for (int i = 0; i < ACCEPTS_PER_TURN; i++) {
        SocketChannel client;
        try {
          client = server.accept();
        } catch (IOException e) {
          pause(key);
          return;
        }
        if (client == null) return;
        openConnections.incrementAndGet();
        new ForwardedConnection(NioTcpListener.this, loop, client, table.current()).start();
      }
    }

    /** A failing accept would be retried in a busy loop: wait a little instead, as HAProxy does. */
    private void pause(SelectionKey key) {
      acceptFailures.increment();
      key.interestOps(0);
      loop.schedule(ACCEPT_PAUSE_NANOS, () -> {
        if (key.isValid()) key.interestOps(SelectionKey.OP_ACCEPT);
      });
    }

    @Override
    public void abort(Throwable cause) {
      closeQuietly(server);
    }
  }
}
