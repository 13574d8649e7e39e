package dev.fulcrum.tcp;

import dev.fulcrum.config.ProxyProtocolVersion;
import dev.fulcrum.http.wire.ProxyProtocol;
import dev.fulcrum.nio.Connector;
import dev.fulcrum.nio.EventLoop;
import dev.fulcrum.observe.TcpObserver;
import dev.fulcrum.nio.Pipe;
import dev.fulcrum.routing.Attempts;
import dev.fulcrum.routing.HashKey;
import dev.fulcrum.routing.RoutedBackend;
import dev.fulcrum.routing.RoutingTable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;

/**
 * One client connection and its backend connection, on one event loop. First the backend is connected (the client is
 * not read meanwhile, so a failed connect can move on to the next backend without the client noticing); then bytes
 * are pumped both ways, each direction reading only while its buffer has room, so a slow reader slows the writer down.
 */
final class ForwardedConnection implements EventLoop.Handler, EventLoop.Sweepable, Connector.Callback {
  private final NioTcpListener listener;
  private final EventLoop loop;
  private final SocketChannel client;
  private final RoutingTable table;
  private final long idleNanos;
  private InetSocketAddress clientAddress;
  private Attempts attempts;
  private RoutedBackend backend;
  private SocketChannel backendChannel;
  private SelectionKey clientKey;
  private SelectionKey backendKey;
  private Pipe up;
  private Pipe down;
  private long lastActivity;
  private boolean closed;
  /** For the access log: when the client was accepted and its backend connected, and how it ended. */
  private final long started;
  private long connectedAt;
  private int connectFailures;
  private TcpObserver.Termination ending;

  ForwardedConnection(NioTcpListener listener, EventLoop loop, SocketChannel client, RoutingTable table) {
    this.listener = listener;
    this.loop = loop;
    this.client = client;
    this.table = table;
    this.idleNanos = listener.settings().idleTimeout().toNanos();
    this.started = loop.now();
  }

  void start() {
    try {
      client.configureBlocking(false);
      client.setOption(StandardSocketOptions.TCP_NODELAY, true);
      clientAddress = (InetSocketAddress) client.getRemoteAddress();
    } catch (IOException e) {
      close();
      return;
    }
    attempts = Attempts.pick(
        table, HashKey.clientIp(clientAddress.getAddress()), listener.settings().connectAttempts());
    if (attempts == null) {
      listener.noBackend();
      ending = TcpObserver.Termination.REFUSED;
      close();
      return;
    }
    connect();
  }

  /** One attempt, bounded by the connect timeout, which also covers looking up a backend given by host name. */
  private void connect() {
    backend = attempts.next();
    Connector.connect(loop, backend.socketAddress(), listener.settings().connectTimeout().toNanos(), this);
  }

  @Override
  public void connected(SocketChannel channel, SelectionKey key) {
    backendChannel = channel;
    backendKey = key;
    key.attach(this);
    if (!sendProxyHeader()) return;
    up = new Pipe(loop, client, backendChannel);
    down = new Pipe(loop, backendChannel, client);
    backend.stats().connectSucceeded();
    backend.stats().connectionOpened();
    lastActivity = loop.now();
    connectedAt = lastActivity;
    loop.addSweepable(this);
    try {
      clientKey = loop.register(client, SelectionKey.OP_READ, this);
      backendKey.interestOps(SelectionKey.OP_READ);
    } catch (IOException e) {
      close();
    }
  }

  /**
   * Sends the PROXY header the backend expects first, if the listener says so; false (and closed) when it could not
   * go out whole at once, which a fresh connection's empty send buffer always allows.
   */
  private boolean sendProxyHeader() {
    ProxyProtocolVersion version = listener.settings().sendProxyProtocol();
    if (version == ProxyProtocolVersion.OFF) return true;
    try {
      ByteBuffer header = ByteBuffer.wrap(ProxyProtocol.header(
          version == ProxyProtocolVersion.V2, clientAddress, (InetSocketAddress) client.getLocalAddress()));
      backendChannel.write(header);
      if (!header.hasRemaining()) return true;
    } catch (IOException e) {
      // closed below
    }
    close();
    return false;
  }

  @Override
  public void failed(String reason, boolean timedOut) {
    connectFailures++;
    if (!attempts.hasNext()) ending = timedOut ? TcpObserver.Termination.TIMEOUT : TcpObserver.Termination.CONNECT_FAILED;
    connectFailed(reason);
  }

  private void connectFailed(String reason) {
    closeBackendChannel();
    backend.reportConnectFailure(reason);
    if (attempts.hasNext()) {
      connect();
    } else {
      listener.gaveUp(clientAddress, attempts.made(), backend, reason);
      close();
    }
  }

  @Override
  public void ready(SelectionKey key) throws IOException {
    if (closed) return;
    int ready = key.readyOps();
    boolean moved;
    if (key == clientKey) {
      moved = (ready & SelectionKey.OP_READ) != 0 && up.read();
      moved |= (ready & SelectionKey.OP_WRITE) != 0 && down.write();
    } else {
      moved = (ready & SelectionKey.OP_READ) != 0 && down.read();
      moved |= (ready & SelectionKey.OP_WRITE) != 0 && up.write();
    }
    if (moved) lastActivity = loop.now();
    if (up.finished() && down.finished()) {
      close();
    } else {
      interest(clientKey, up.wantsRead(), down.wantsWrite());
      interest(backendKey, down.wantsRead(), up.wantsWrite());
    }
  }

  private static void interest(SelectionKey key, boolean read, boolean write) {
    int ops = (read ? SelectionKey.OP_READ : 0) | (write ? SelectionKey.OP_WRITE : 0);
    if (key.interestOps() != ops) key.interestOps(ops);
  }

  @Override
  public void sweep(long now) {
    if (now - lastActivity >= idleNanos) {
      ending = TcpObserver.Termination.TIMEOUT;
      close();
    }
  }

  @Override
  public void abort(Throwable cause) {
    if (ending == null) ending = TcpObserver.Termination.RESET;
    close();
  }

  private void close() {
    if (closed) return;
    closed = true;
    if (up != null) {
      loop.removeSweepable(this);
      up.release();
      down.release();
      backend.stats().connectionClosed();
    }
    closeBackendChannel();
    try {
      client.close();
    } catch (IOException ignored) {
      // closing is all that is left to do
    }
    listener.connectionClosed();
    listener.observer().closed(clientAddress, backend, attempts == null ? 0 : attempts.made(), connectFailures, started,
        connectedAt, loop.now(), up == null ? 0 : up.bytes(), down == null ? 0 : down.bytes(),
        ending == null ? TcpObserver.Termination.NORMAL : ending);
  }

  private void closeBackendChannel() {
    if (backendChannel == null) return;
    try {
      backendChannel.close();
    } catch (IOException ignored) {
      // a failed close leaves nothing to clean up
    }
    backendChannel = null;
    backendKey = null;
  }
}
