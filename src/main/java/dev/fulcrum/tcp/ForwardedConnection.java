package dev.fulcrum.tcp;

import dev.fulcrum.config.ProxyProtocolVersion;
import dev.fulcrum.http.wire.ProxyProtocol;
import dev.fulcrum.nio.Connector;
import dev.fulcrum.nio.EventLoop;
import dev.fulcrum.observe.TcpObserver;
import dev.fulcrum.nio.Pipe;
import dev.fulcrum.nio.PrefixedChannel;
import dev.fulcrum.nio.Transport;
import dev.fulcrum.tls.TlsContext;
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
 * One client connection and its backend connection, on one event loop. On a listener that expects them, the PROXY
 * header is read first (it says who the client is), then the TLS handshake is done, both bounded by the handshake
 * timeout, before any backend is picked: a bad header or hello costs no backend connection. Then the backend is
 * connected (the client is not read meanwhile, so a failed connect can move on to the next backend without the client
 * noticing); then bytes are pumped both ways, each direction reading only while its buffer has room, so a slow reader
 * slows the writer down.
 */
final class ForwardedConnection implements EventLoop.Handler, EventLoop.Sweepable, Connector.Callback {
  /** The PROXY header is at most 536 bytes (v2 with the TLVs a client address needs is far less). */
  private static final int PREAMBLE_MAX = 536;

  /** What the client side is doing before bytes are pumped. */
  private enum Phase { PREAMBLE, HANDSHAKE, CONNECTING, BACKEND_HANDSHAKE, PUMPING }

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
  private Phase phase = Phase.CONNECTING;
  private Transport clientTransport;
  private Transport backendTransport;
  /** Ends a TLS handshake with the backend that takes longer than the connect timeout. */
  private EventLoop.Timer backendHandshakeEnd;
  private ByteBuffer preamble;
  /** Ends the PROXY header and the TLS handshake if they take too long. */
  private EventLoop.Timer preambleEnd;

  ForwardedConnection(NioTcpListener listener, EventLoop loop, SocketChannel client, RoutingTable table) {
    this.listener = listener;
    this.loop = loop;
    this.client = client;
    this.table = table;
    this.idleNanos = listener.settings().idleTimeout().toNanos();
    this.started = loop.now();
  }

  void start() {
    TlsContext tls = listener.tls0();
    try {
      client.configureBlocking(false);
      client.setOption(StandardSocketOptions.TCP_NODELAY, true);
      clientAddress = (InetSocketAddress) client.getRemoteAddress();
      clientTransport = Transport.plain(client);
      if (listener.expectsProxyProtocol() || tls != null) {
        phase = listener.expectsProxyProtocol() ? Phase.PREAMBLE : Phase.HANDSHAKE;
        if (phase == Phase.HANDSHAKE) clientTransport = tls.serverTransport(client, client, loop.tlsBuffers());
        clientKey = loop.register(client, SelectionKey.OP_READ, this);
        long timeout = (tls != null ? tls.handshakeTimeout() : dev.fulcrum.config.TlsSettings.HANDSHAKE_TIMEOUT).toNanos();
        preambleEnd = loop.schedule(timeout, this::preambleTimedOut);
        return;
      }
    } catch (IOException e) {
      close();
      return;
    }
    pick();
  }

  /** The client is known (and speaks TLS, if the listener does): a backend is picked and connected. */
  private void pick() {
    phase = Phase.CONNECTING;
    if (clientKey != null) interest(clientKey, false, false);
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

  private void preambleTimedOut() {
    preambleEnd = null;
    if (closed || phase == Phase.CONNECTING || phase == Phase.PUMPING) return;
    refuse(phase == Phase.PREAMBLE ? TcpObserver.Termination.PROXY_REFUSED : TcpObserver.Termination.TLS_REFUSED,
        (phase == Phase.PREAMBLE ? "the PROXY header" : "the TLS handshake") + " did not complete within the handshake timeout");
  }

  /** The client sent what this listener cannot take (a bad PROXY header, a refused hello): closed, counted. */
  private void refuse(TcpObserver.Termination why, String reason) {
    if (why == TcpObserver.Termination.TLS_REFUSED) listener.tlsRefused(clientAddress, reason);
    else listener.proxyRefused(clientAddress, reason);
    ending = why;
    close();
  }

  /** Reads the PROXY header; what follows it is the client's first bytes (or the start of its TLS handshake). */
  private void readPreamble() throws IOException {
    if (preamble == null) preamble = ByteBuffer.allocate(PREAMBLE_MAX);
    int n = client.read(preamble);
    ProxyProtocol.Parsed parsed = ProxyProtocol.parse(preamble, 0, preamble.position());
    if (parsed instanceof ProxyProtocol.Header header) {
      if (header.source() != null) {
        clientAddress = header.source();
        if (!listener.permitted(clientAddress.getAddress())) {
          ending = TcpObserver.Termination.REFUSED;
          close();
          return;
        }
      }
      ByteBuffer rest = preamble.flip().position(header.length()).slice();
      preamble = null;
      TlsContext tls = listener.tls0();
      if (tls != null) {
        phase = Phase.HANDSHAKE;
        clientTransport = tls.serverTransport(new PrefixedChannel(rest, client), client, loop.tlsBuffers());
        handshake();
      } else {
        clientTransport = Transport.prefixed(rest, client);
        finishPreamble();
      }
    } else if (parsed instanceof dev.fulcrum.http.wire.WireError error) {
      refuse(TcpObserver.Termination.PROXY_REFUSED, "a malformed PROXY header: " + error.problem());
    } else if (n < 0) {
      refuse(TcpObserver.Termination.PROXY_REFUSED, "the connection ended within the PROXY header");
    } else if (!preamble.hasRemaining()) {
      refuse(TcpObserver.Termination.PROXY_REFUSED, "no PROXY header within " + PREAMBLE_MAX + " bytes");
    }
  }

  private void handshake() throws IOException {
    boolean done;
    try {
      done = clientTransport.handshake();
    } catch (javax.net.ssl.SSLException e) {
      refuse(TcpObserver.Termination.TLS_REFUSED, dev.fulcrum.Failures.describe(e));
      return;
    } catch (IOException e) {
      refuse(TcpObserver.Termination.TLS_REFUSED, "the connection ended within the handshake");
      return;
    }
    if (done) {
      finishPreamble();
    } else {
      interest(clientKey, !clientTransport.wantsWrite(), clientTransport.wantsWrite());
    }
  }

  private void finishPreamble() {
    if (preambleEnd != null) preambleEnd.cancel();
    preambleEnd = null;
    pick();
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
    dev.fulcrum.tls.BackendTls tls = backend.tls(); // as of the table the backend came in
    if (tls != null) {
      // re-encrypted: the handshake with the backend is part of connecting to it, and a failed one tries the next
      backendTransport = tls.clientTransport(channel, backend.address().host(), backend.address().port());
      phase = Phase.BACKEND_HANDSHAKE;
      long timeout = listener.settings().connectTimeout().toNanos();
      backendHandshakeEnd = loop.schedule(timeout, () -> backendHandshakeFailed(
          "the TLS handshake did not complete within " + timeout / 1_000_000 + " ms", true));
      backendHandshake();
      return;
    }
    backendTransport = Transport.plain(channel);
    startPumping();
  }

  private void backendHandshake() {
    boolean done;
    try {
      done = backendTransport.handshake();
    } catch (IOException e) {
      backendHandshakeFailed("TLS with the backend failed: " + dev.fulcrum.Failures.describe(e), false);
      return;
    }
    if (!done) {
      interest(backendKey, !backendTransport.wantsWrite(), backendTransport.wantsWrite());
      return;
    }
    backendHandshakeEnd.cancel();
    backendHandshakeEnd = null;
    startPumping();
  }

  private void backendHandshakeFailed(String reason, boolean timedOut) {
    if (closed || phase != Phase.BACKEND_HANDSHAKE) return;
    if (backendHandshakeEnd != null) backendHandshakeEnd.cancel();
    backendHandshakeEnd = null;
    backendTransport = null;
    phase = Phase.CONNECTING;
    failed(reason, timedOut);
  }

  private void startPumping() {
    up = new Pipe(loop, clientTransport, backendTransport);
    down = new Pipe(loop, backendTransport, clientTransport);
    backend.stats().connectSucceeded();
    backend.stats().connectionOpened();
    lastActivity = loop.now();
    connectedAt = lastActivity;
    loop.addSweepable(this);
    phase = Phase.PUMPING;
    try {
      if (clientKey == null) clientKey = loop.register(client, SelectionKey.OP_READ, this);
      else clientKey.interestOps(SelectionKey.OP_READ);
      backendKey.interestOps(SelectionKey.OP_READ);
    } catch (IOException e) {
      close();
      return;
    }
    // bytes that came with the PROXY header or the handshake's last message wait inside: no event will announce them
    if (clientTransport.mayHoldInput()) loop.execute(this::clientHoldsInput);
    if (backendTransport.mayHoldInput()) loop.execute(this::backendHoldsInput);
  }

  /** Reading the client (back on) while its transport may hold bytes read from the socket already. */
  private void clientHoldsInput() {
    if (closed || phase != Phase.PUMPING || !up.wantsRead()) return;
    try {
      if (up.read()) lastActivity = loop.now();
    } catch (IOException e) {
      abort(e);
      return;
    }
    afterIo();
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
    if (phase == Phase.PREAMBLE) {
      readPreamble();
      return;
    }
    if (phase == Phase.HANDSHAKE) {
      // past the turn's share of handshake time, a handshake waits for the next turn, its socket unread (as HTTP's)
      loop.handshakeStep(this::handshake);
      return;
    }
    if (phase == Phase.BACKEND_HANDSHAKE) {
      if (key == backendKey) backendHandshake();
      return;
    }
    if (phase != Phase.PUMPING) return;
    int ready = key.readyOps();
    boolean moved;
    if (key == clientKey) {
      // a TLS read that had to write (a handshake message) first goes on once the socket takes it
      boolean read = (ready & SelectionKey.OP_READ) != 0
          || ((ready & SelectionKey.OP_WRITE) != 0 && clientTransport.wantsWrite());
      moved = read && up.read();
      moved |= (ready & SelectionKey.OP_WRITE) != 0 && down.write();
    } else {
      boolean read = (ready & SelectionKey.OP_READ) != 0
          || ((ready & SelectionKey.OP_WRITE) != 0 && backendTransport.wantsWrite());
      moved = read && down.read();
      moved |= (ready & SelectionKey.OP_WRITE) != 0 && up.write();
    }
    if (moved) lastActivity = loop.now();
    afterIo();
  }

  private void afterIo() {
    if (closed) return;
    if (up.finished() && down.finished()) {
      close();
      return;
    }
    boolean wasReading = (clientKey.interestOps() & SelectionKey.OP_READ) != 0;
    boolean wasReadingBackend = (backendKey.interestOps() & SelectionKey.OP_READ) != 0;
    interest(clientKey, up.wantsRead(), down.wantsWrite() || clientTransport.wantsWrite());
    interest(backendKey, down.wantsRead(), up.wantsWrite() || backendTransport.wantsWrite());
    if (!wasReading && up.wantsRead() && clientTransport.mayHoldInput()) loop.execute(this::clientHoldsInput);
    if (!wasReadingBackend && down.wantsRead() && backendTransport.mayHoldInput()) loop.execute(this::backendHoldsInput);
  }

  /** Reading the backend (back on) while its TLS may hold records read from the socket already. */
  private void backendHoldsInput() {
    if (closed || phase != Phase.PUMPING || !down.wantsRead()) return;
    try {
      if (down.read()) lastActivity = loop.now();
    } catch (IOException e) {
      abort(e);
      return;
    }
    afterIo();
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
    if (ending == null && clientTransport != null && clientTransport.renegotiationRefused()) {
      refuse(TcpObserver.Termination.TLS_REFUSED, "a TLS renegotiation");
      return;
    }
    if (ending == null) ending = TcpObserver.Termination.RESET;
    close();
  }

  private void close() {
    if (closed) return;
    closed = true;
    if (preambleEnd != null) preambleEnd.cancel();
    if (backendHandshakeEnd != null) backendHandshakeEnd.cancel();
    if (up != null) {
      loop.removeSweepable(this);
      up.release();
      down.release();
      backend.stats().connectionClosed();
    }
    closeBackendChannel();
    if (clientTransport != null) {
      clientTransport.close();
    } else {
      try {
        client.close();
      } catch (IOException ignored) {
        // closing is all that is left to do
      }
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
