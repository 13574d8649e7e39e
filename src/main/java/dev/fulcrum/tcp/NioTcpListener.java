package dev.fulcrum.tcp;

import dev.fulcrum.config.TcpListenerSettings;
import dev.fulcrum.nio.AcceptLimit;
import dev.fulcrum.nio.EventLoop;
import dev.fulcrum.nio.EventLoops;
import dev.fulcrum.nio.NioServer;
import dev.fulcrum.routing.TableRef;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;

/** The L4 listener on Fulcrum's event loops ({@code engine = nio}). */
final class NioTcpListener extends CountingTcpListener {
  private final TableRef table;
  private final AcceptLimit limit;
  private volatile NioServer server;

  private NioTcpListener(TcpListenerSettings settings, TableRef table, dev.fulcrum.observe.TcpObserver observer) {
    super(settings, observer);
    this.table = table;
    this.limit = new AcceptLimit(settings.maxConnections());
  }

  static CompletionStage<TcpListener> start(
      EventLoops loops, TcpListenerSettings settings, TableRef table, dev.fulcrum.observe.TcpObserver observer) {
    NioTcpListener listener = new NioTcpListener(settings, table, observer);
    return NioServer.bind(loops, settings.bind().host(), settings.bind().port(), settings.name(), listener::accepted)
        .thenApply(server -> {
          listener.server = server;
          listener.limit.bound(server);
          return listener;
        });
  }

  private void accepted(EventLoop loop, SocketChannel client) {
    InetAddress address;
    try {
      address = ((InetSocketAddress) client.getRemoteAddress()).getAddress();
    } catch (IOException gone) {
      closeQuietly(client);
      return;
    }
    if (!permitted(address)) {
      closeQuietly(client);
      return;
    }
    limit.opened();
    openConnections.incrementAndGet();
    observer.opened();
    new ForwardedConnection(this, loop, client, table.current()).start();
  }

  private static void closeQuietly(SocketChannel client) {
    try {
      client.close();
    } catch (IOException ignored) {
      // nothing left to release
    }
  }

  @Override
  public InetSocketAddress localAddress() {
    return server.localAddress();
  }

  @Override
  public CompletionStage<Done> unbind() {
    limit.stop();
    return server.unbind();
  }

  void connectionClosed() {
    openConnections.decrementAndGet();
    limit.closed();
  }

  dev.fulcrum.observe.TcpObserver observer() {
    return observer;
  }

  void noBackend() {
    noBackend.increment();
  }
}
