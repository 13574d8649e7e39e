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
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import dev.fulcrum.config.Cidr;
import dev.fulcrum.tls.TlsContext;
import dev.fulcrum.tls.TlsException;
import org.apache.pekko.Done;

/** The L4 listener on Fulcrum's event loops ({@code engine = nio}). */
final class NioTcpListener extends CountingTcpListener {
  private final TableRef table;
  private final AcceptLimit limit;
  private volatile NioServer server;
  /** Null on a plain listener. */
  private final TlsContext tls;

  private NioTcpListener(
      TcpListenerSettings settings, TableRef table, dev.fulcrum.observe.TcpObserver observer, TlsContext tls) {
    super(settings, observer);
    this.table = table;
    this.tls = tls;
    this.limit = new AcceptLimit(settings.maxConnections());
  }

  static CompletionStage<TcpListener> start(
      EventLoops loops, TcpListenerSettings settings, TableRef table, dev.fulcrum.observe.TcpObserver observer) {
    NioTcpListener listener;
    try {
      listener = new NioTcpListener(settings, table, observer, TlsContext.forListener(settings.name(), settings.tls()));
    } catch (TlsException e) {
      return CompletableFuture.failedFuture(new IllegalArgumentException(e.getMessage()));
    }
    return NioServer.bind(loops, settings.bind().host(), settings.bind().port(), settings.name(), listener::accepted)
        .thenApply(server -> {
          listener.server = server;
          listener.limit.bound(server);
          if (listener.tls != null) listener.tls.watch(TlsContext.WATCH_SECONDS);
          return listener;
        });
  }

  TlsContext tls0() {
    return tls;
  }

  @Override
  public Optional<TlsContext> tls() {
    return Optional.ofNullable(tls);
  }

  boolean expectsProxyProtocol() {
    return !settings.proxyProtocolFrom().isEmpty();
  }

  private boolean trustsProxyProtocolFrom(InetAddress peer) {
    for (Cidr cidr : settings.proxyProtocolFrom()) if (cidr.contains(peer)) return true;
    return false;
  }

  private void accepted(EventLoop loop, SocketChannel client) {
    InetAddress address;
    try {
      address = ((InetSocketAddress) client.getRemoteAddress()).getAddress();
    } catch (IOException gone) {
      closeQuietly(client);
      return;
    }
    if (expectsProxyProtocol()) {
      // only the balancers in front may say who the client is: anyone else is closed before a byte is read; the
      // firewall judges the client the header names
      if (!trustsProxyProtocolFrom(address)) {
        proxyRefused(address.getHostAddress(), "not in proxy-protocol.trusted");
        closeQuietly(client);
        return;
      }
    } else if (!permitted(address)) {
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
    if (tls != null) tls.close();
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
