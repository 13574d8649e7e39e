package dev.fulcrum.http.nio;

import dev.fulcrum.config.BackendProtocol;
import dev.fulcrum.http.proxy.Admission;
import dev.fulcrum.http.proxy.ExchangeLog;
import dev.fulcrum.http.proxy.Forwarded;
import dev.fulcrum.http.proxy.HeaderRewriter;
import dev.fulcrum.http.proxy.ListenerPolicy;
import dev.fulcrum.http.proxy.ProxyError;
import dev.fulcrum.http.proxy.Route;
import dev.fulcrum.http.wire.BodyFraming;
import dev.fulcrum.http.wire.HeadWriter;
import dev.fulcrum.http.wire.HeaderFields;
import dev.fulcrum.http.wire.HttpHeads;
import dev.fulcrum.http.wire.ParsedRequest;
import dev.fulcrum.http.wire.ParsedTarget;
import dev.fulcrum.http.wire.ProxyProtocol;
import dev.fulcrum.http.wire.RequestHead;
import dev.fulcrum.http.wire.RequestTarget;
import dev.fulcrum.http.wire.WireError;
import dev.fulcrum.nio.EventLoop;
import dev.fulcrum.nio.PrefixedChannel;
import dev.fulcrum.nio.Transport;
import dev.fulcrum.tls.TlsContext;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * A client connection of the nio engine: reads request heads one at a time (pipelined requests wait in the buffer),
 * answers what the proxy answers itself (no route, firewall, limits, malformed requests) and hands the rest to an
 * {@link Exchange}. Keep-alive until either side asks to close.
 */
final class ClientConnection extends HttpSocket implements EventLoop.Sweepable {
  private static final byte[] CONTINUE = "HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);
  /** How long a connection closed after an error keeps reading (and dropping) what the client still sends. */
  private static final long LINGER_NANOS = TimeUnit.SECONDS.toNanos(1);

  /** What the connection is doing between requests; an exchange or an answer of its own is under way otherwise. */
  private enum State {
    /** Reading the PROXY protocol header a trusted balancer in front sends first. */
    PREAMBLE,
    /** Reading the next request head. */
    READING,
    /** An exchange is under way. */
    EXCHANGING,
    /** Writing one of the proxy's own answers. */
    ANSWERING,
    /** HTTP/2 (ALPN chose h2, or the h2c preface came): the session has the connection from here on. */
    HTTP2,
    /** The sending side is closed; what the client still sends is dropped until it closes or the linger ends. */
    LINGERING,
    CLOSED
  }

  private final NioHttpListener listener;
  private final ListenerPolicy policy;
  private final UpstreamPool pool;
  private final SocketChannel socket;
  private State state = State.READING;
  /** Why a connection closed while its PROXY header was awaited is counted as refused (until told otherwise: timed out). */
  private String preambleRefusal = "no complete PROXY header in time";
  private InetAddress address;
  private String ip;
  private int port;
  /** The request under way, for the access log and the counters; reused for each request of the connection. */
  private final ExchangeLog log;
  private InetSocketAddress clientSocket;
  private InetSocketAddress localSocket;
  private ClientExchange exchange;
  /** The proxy's own answer being written, while {@link State#ANSWERING}. */
  private BodyRelay answer;
  private boolean closeAfterAnswer;
  /** When the first byte of the head being read arrived, or 0 while none is pending. */
  private long headStartedAt;
  private boolean draining;
  private EventLoop.Timer lingerEnd;
  private H2ClientSession h2;
  /** The first bytes are the start of the h2c preface and its rest has not arrived yet. */
  private boolean prefaceAwaited;
  private static final byte[] H2_PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);
  private final long acceptedAt;
  private String subject;
  private boolean subjectKnown;
  /** Plain, or TLS with its handshake done: asked of the engine only until then. */
  private boolean handshook;

  ClientConnection(NioHttpListener listener, EventLoop loop, SocketChannel socket, UpstreamPool pool) {
    super(loop);
    this.listener = listener;
    this.policy = listener.policy();
    this.socket = socket;
    this.pool = pool;
    this.log = new ExchangeLog(listener.observer());
    this.acceptedAt = loop.now();
  }

  void start() {
    try {
      socket.configureBlocking(false);
      socket.setOption(StandardSocketOptions.TCP_NODELAY, true);
      clientSocket = (InetSocketAddress) socket.getRemoteAddress();
      localSocket = (InetSocketAddress) socket.getLocalAddress();
      address = clientSocket.getAddress();
      ip = address.getHostAddress();
      port = ((InetSocketAddress) socket.getRemoteAddress()).getPort();
      if (listener.expectsProxyProtocol()) {
        // only the balancers in front may say who the client is: anyone else is closed before a byte is read
        if (!listener.trustsProxyProtocolFrom(address)) {
          listener.proxyRefused(clientSocket, "not in proxy-protocol.trusted");
          attach(socket, null);
          close();
          return;
        }
        state = State.PREAMBLE;
      }
      // a PROXY header comes before the TLS handshake: TLS begins once it is read
      Transport transport = state == State.PREAMBLE ? Transport.plain(socket) : clientTransport(socket);
      attach(socket, transport, loop.register(socket, SelectionKey.OP_READ, this));
    } catch (IOException e) {
      attach(socket, null);
      close();
      return;
    }
    loop.addSweepable(this);
  }

  InetAddress address() {
    return address;
  }

  String ip() {
    return ip;
  }

  ExchangeLog.Observer listenerObserver() {
    return listener.observer();
  }

  ExchangeLog log() {
    return log;
  }

  boolean draining() {
    return draining;
  }

  /** The client's address and port (as a PROXY header gave them, if one came). */
  InetSocketAddress clientSocket() {
    return clientSocket;
  }

  /** The listener's address the client connected to. */
  InetSocketAddress localSocket() {
    return localSocket;
  }

  /** What the backend is told about this client and its request. */
  Forwarded forwarded(String requestId, String host) {
    return new Forwarded(ip, listener.tlsOrNull() != null, host, requestId, clientSubject());
  }

  /**
   * The verified client certificate's subject, asked of the session once per connection and only on listeners that
   * ask for certificates: JSSE answers "none" with an exception, whose stack trace cost showed in every request's
   * profile on plain HTTPS listeners.
   */
  private String clientSubject() {
    if (subjectKnown) return subject;
    TlsContext tls = listener.tlsOrNull();
    if (tls == null || !tls.asksForClientCertificates()) return null;
    javax.net.ssl.SSLSession session = transport().session();
    if (session == null) return null;
    subject = TlsContext.clientSubject(session);
    subjectKnown = true;
    return subject;
  }

  @Override
  public void ready(SelectionKey key) throws IOException {
    if (state == State.CLOSED) return;
    int ops = key.readyOps();
    // past the turn's share of handshake time, a handshake waits for the next turn, its socket unread
    if (handshaking()) loop.handshakeStep(() -> serve(ops));
    else serve(ops);
  }

  /** TLS is still being negotiated: the listener has TLS and the connection no session yet. */
  private boolean handshaking() {
    if (handshook || state == State.PREAMBLE) return false;
    handshook = listener.tlsOrNull() == null || transport().session() != null;
    return !handshook;
  }

  private void serve(int ops) throws IOException {
    // a TLS read that had to write a handshake message first goes on once the socket can take it
    if ((ops & SelectionKey.OP_WRITE) != 0 && transport().wantsWrite()) readable();
    // encrypted bytes of an earlier write go first: what follows them may be all that is left to send
    if ((ops & SelectionKey.OP_WRITE) != 0 && !flushPending()) {
      close();
      return;
    }
    if (state != State.CLOSED && (ops & SelectionKey.OP_WRITE) != 0) writable();
    if (state != State.CLOSED && (ops & SelectionKey.OP_READ) != 0) readable();
    if (state != State.CLOSED) updateInterest();
  }

  @Override
  public void abort(Throwable cause) {
    close();
  }

  @Override
  void readResumed() {
    if (state == State.CLOSED) return;
    try {
      readable();
    } catch (IOException e) {
      close();
      return;
    }
    if (state != State.CLOSED) updateInterest();
  }

  @Override
  public void sweep(long now) {
    if (state == State.CLOSED) return;
    TlsContext tls = listener.tlsOrNull();
    if (tls != null && transport().session() == null && now - acceptedAt >= tls.handshakeTimeout().toNanos()) {
      // a hello trickled in (or a PROXY header that never ends): closed as the L4 listener closes it
      close();
      return;
    }
    long timeout = listener.settings().clientIdleTimeout().toNanos();
    if (state == State.READING && headStartedAt != 0 && now - headStartedAt >= timeout) {
      // as nginx's client_header_timeout: a head trickled in a byte at a time must not hold the connection forever
      answer(new ProxyError(408, "the request head did not arrive within " + timeout / 1_000_000 + " ms"), null, true);
    } else if (state == State.HTTP2) {
      if (!h2.busy() && now - lastActivity() >= timeout) h2.idle();
      else h2.sweep(now);
    } else if (now - lastActivity() >= timeout) {
      close();
    } else if (state == State.EXCHANGING) {
      exchange.sweep(now);
    }
  }

  private void writable() {
    if (state == State.ANSWERING) writeAnswer();
    else if (state == State.EXCHANGING) exchange.clientWritable();
    else if (state == State.HTTP2) h2.flush();
  }

  private void readable() throws IOException {
    int n = read();
    switch (state) {
      case LINGERING -> {
        consumeAll();
        if (n < 0) close();
      }
      case EXCHANGING -> exchange.clientReadable();
      case PREAMBLE -> readPreamble();
      case HTTP2 -> readHttp2(n);
      case READING -> {
        if (startHttp2()) readHttp2(n);
        else if (!prefaceAwaited) nextRequest();
      }
      default -> {}
    }
  }

  private void readHttp2(int n) throws IOException {
    h2.readable();
    // TLS may hold more decrypted bytes than the buffer took, and no selector event would announce them; when the
    // buffer did not fill, the read went on until TLS had none (one more read here was a syscall for EAGAIN)
    while (n > 0 && state == State.HTTP2 && readStoppedFull() && transport().mayHoldInput()) {
      n = read();
      h2.readable();
    }
    // the end may come after data in the same read (a GOAWAY, then the close): that read counts bytes, not -1
    if ((n < 0 || inputEnded()) && state == State.HTTP2) close();
  }

  private Transport clientTransport(ByteChannel channel) {
    TlsContext tls = listener.tlsOrNull();
    if (tls == null) return Transport.plain(socket);
    return tls.serverTransport(channel, socket, loop.tlsBuffers());
  }

  /** The PROXY header: the client's address in it is the one every rule and the backend then see. */
  private void readPreamble() {
    int available = unconsumed();
    ProxyProtocol.Parsed parsed = available == 0 ? new ProxyProtocol.Incomplete() : parseHead(available, ProxyProtocol::parse);
    if (parsed instanceof ProxyProtocol.Header header) {
      consume(header.length());
      if (header.source() != null) {
        clientSocket = header.source();
        address = clientSocket.getAddress();
        ip = address.getHostAddress();
        port = header.source().getPort();
      }
      state = State.READING;
      if (listener.tlsOrNull() != null) {
        // what came after the header is the start of the TLS handshake: TLS reads it first
        ByteBuffer rest = ByteBuffer.allocate(unconsumed());
        if (rest.capacity() > 0) rest.put(parseHead(unconsumed(), ClientConnection::copyOf)).flip();
        consumeAll();
        attach(socket, clientTransport(new PrefixedChannel(rest, socket)), currentKey());
        if (rest.hasRemaining()) loop.execute(this::readResumed);
        return;
      }
      nextRequest();
    } else if (parsed instanceof WireError error) {
      preambleRefusal = error.problem();
      close();
    } else if (inputEnded()) {
      preambleRefusal = "the connection ended within the PROXY header";
      close();
    }
  }

  private static ByteBuffer copyOf(ByteBuffer buf, int from, int to) {
    return buf.slice(from, to - from);
  }

  /**
   * Hands the connection to HTTP/2 when ALPN chose h2, or when a plain listener takes h2c and the client's first
   * bytes are the preface (prior knowledge: an Upgrade header never leads here). False: it stays HTTP/1.1, or the
   * preface has not all arrived yet.
   */
  private boolean startHttp2() {
    prefaceAwaited = false;
    var http2 = listener.settings().http2();
    if (!http2.any() || headStartedAt != 0) return false;
    boolean h2 = http2.enabled() && "h2".equals(transport().applicationProtocol());
    if (!h2 && http2.cleartext() && listener.tlsOrNull() == null) {
      int n = Math.min(unconsumed(), H2_PREFACE.length);
      if (n == 0) return false;
      boolean prefix = parseHead(n, (buf, from, to) -> {
        for (int i = from; i < to; i++) if (buf.get(i) != H2_PREFACE[i - from]) return false;
        return true;
      });
      if (!prefix) return false;
      if (n < H2_PREFACE.length) {
        // The rest of the preface is still to come (a client may send it in pieces): neither HTTP/2 yet, nor an
        // HTTP/1.1 head ("PRI * HTTP/2.0" alone parses as one), nor a session without its frames.
        prefaceAwaited = !inputEnded();
        if (!prefaceAwaited) close();
        return false;
      }
      h2 = true;
    }
    if (!h2) return false;
    state = State.HTTP2;
    this.h2 = new H2ClientSession(this, policy, pool, http2, listener.h2Observer());
    return true;
  }

  /** Takes the next request whose head is complete in the buffer, if any. */
  private void nextRequest() {
    while (state == State.READING) {
      if (unconsumed() == 0) {
        if (inputEnded() || draining) close();
        return;
      }
      int end = headEnd();
      if (end < 0) {
        if (headStartedAt == 0) headStartedAt = loop.now();
        if (!inputHasRoom()) {
          // a head that fills the whole buffer: 414 while its request line has not even ended, else 431
          int status = hasLineEnd() ? 431 : 414;
          answer(new ProxyError(status, "request head larger than " + inputCapacity() + " bytes"), null, true);
        } else if (!mayStartRequest()) {
          answer(new ProxyError(400, "not an HTTP/1.x request"), null, true);
        } else if (inputEnded()) {
          close();
        }
        return;
      }
      log.begin(headStartedAt == 0 ? loop.now() : headStartedAt, loop.now(), ip, port, end);
      headStartedAt = 0;
      ParsedRequest parsed = parseHead(end, (buf, from, to) -> HttpHeads.parseRequest(buf, from, to, listener.settings().limits()));
      consume(end);
      if (parsed instanceof WireError error) {
        answer(ProxyError.of(error), null, true);
        return;
      }
      handle((RequestHead) parsed);
    }
  }

  private void handle(RequestHead head) {
    String requestId = HeaderRewriter.requestId(head.headers());
    log.protocol = head.minorVersion() == 0 ? ExchangeLog.HTTP_1_0 : ExchangeLog.HTTP_1_1;
    log.request(head.method(), head.target(), requestId);
    boolean mustClose = head.hasBody() || !head.keepAlive();
    ParsedTarget parsed = policy.parseTarget(head.target());
    if (parsed instanceof WireError error) {
      answer(ProxyError.of(error), requestId, true);
      return;
    }
    RequestTarget target = (RequestTarget) parsed;
    String hostHeader = head.headers().get("host");
    if (target.authority() != null && hostHeader != null && !hostHeader.equalsIgnoreCase(target.authority())) {
      answer(new ProxyError(400, "the Host header and the request target name different hosts"), requestId, true);
      return;
    }
    String host = target.authority() != null ? target.authority() : hostHeader;
    Admission admission = policy.admit(address, host, target, head.headers(), head.contentLength());
    if (admission instanceof ProxyError error) {
      if (error.status() != 404) log.routed(policy.refusedRoute(host, target, head.headers()));
      answer(error, requestId, mustClose);
      return;
    }
    Route route = (Route) admission;
    log.routed(route);
    ClientExchange next;
    BackendProtocol protocol = route.protocol();
    if (protocol.http2()) {
      if (head.webSocketUpgrade()) {
        // RFC 8441's extended CONNECT is not spoken to backends: a WebSocket needs an HTTP/1.1 pool
        answer(new ProxyError(501, "WebSocket upgrades are not carried to an HTTP/2 pool"), requestId, true);
        return;
      }
      if (route.upstreamKey().perClient()) {
        answer(ProxyError.needsHttp1(route.pool(), protocol, "the route's send-proxy-protocol"), requestId, mustClose);
        return;
      }
      next = new H1ToH2Exchange(this, policy, pool, head, route, protocol, requestId, target, host);
    } else {
      next = new Exchange(this, policy, pool, head, route, requestId, target, host);
    }
    exchange = next;
    state = State.EXCHANGING;
    if (!next.start()) {
      answer(ProxyError.noBackend(route.pool()), requestId, mustClose);
    } else if (exchange == next && head.expectContinue() && head.hasBody()) {
      sendContinue();
    }
  }

  /** Answers the client with one of the proxy's own responses; {@code close} ends the connection after it. */
  void answer(ProxyError error, String requestId, boolean close) {
    exchange = null;
    boolean closing = close || draining;
    HeaderFields headers = new HeaderFields(4);
    headers.add("Content-Type", "text/plain; charset=UTF-8");
    if (requestId != null) headers.add(HeaderRewriter.REQUEST_ID, requestId);
    if (closing) headers.add("Connection", "close");
    ByteBuffer bytes = HeadWriter.response(error.status(), headers, error.body());
    if (!log.active()) log.begin(loop.now(), loop.now(), ip, port, 0); // a head that never completed (408, 414, 431)
    log.answered(error.status(), bytes.remaining(), loop.now());
    answer = new BodyRelay(this, bytes, BodyFraming.NONE, 0, 0);
    closeAfterAnswer = closing;
    state = State.ANSWERING;
    writeAnswer();
  }

  private void writeAnswer() {
    try {
      if (!answer.pump(this)) return;
    } catch (IOException e) {
      close();
      return;
    }
    answer = null;
    state = State.READING;
    if (closeAfterAnswer) linger();
    else nextRequest();
  }

  /** Tells a client waiting on {@code Expect: 100-continue} to send its body. */
  private void sendContinue() {
    try {
      if (write(ByteBuffer.wrap(CONTINUE)) < CONTINUE.length) close();
    } catch (IOException e) {
      close();
    }
  }

  /** The exchange is over; the connection takes the next request or closes. */
  void exchangeDone(boolean keepAlive) {
    exchange = null;
    state = State.READING;
    if (!keepAlive) linger();
    else nextRequest();
  }

  /** Finishes the current request if any, then closes; an idle connection closes at once. */
  void drain() {
    draining = true;
    if (state == State.HTTP2) {
      h2.drain();
      return;
    }
    if (state == State.READING || state == State.LINGERING) close();
  }

  void updateInterest() {
    if (state == State.CLOSED) return;
    boolean read = !inputEnded() && inputHasRoom();
    boolean write = (state == State.ANSWERING && answer.blocked())
        || (state == State.EXCHANGING && exchange.wantsClientWrite())
        || (state == State.HTTP2 && h2.wantsWrite());
    interest(read, write);
  }

  /**
   * Closes the sending side and drops what the client still sends for a moment before closing: closing with unread
   * input would reset the connection, and the client could lose the response it has not read yet.
   */
  private void linger() {
    state = State.LINGERING;
    if (!shutdownOutput()) {
      close();
      return;
    }
    consumeAll();
    if (inputEnded()) {
      close();
      return;
    }
    lingerEnd = loop.schedule(LINGER_NANOS, this::close);
    updateInterest();
  }

  void close() {
    if (state == State.CLOSED) return;
    if (state == State.PREAMBLE) listener.proxyRefused(clientSocket, preambleRefusal);
    // ended before its TLS session was made (and after any PROXY header): a refused, failed or timed-out handshake;
    // or after it, by a refused renegotiation
    if (state != State.PREAMBLE && listener.tlsOrNull() != null && transport() != null
        && (transport().session() == null || transport().renegotiationRefused())) {
      listener.tlsRefused(clientSocket);
    }
    ClientExchange current = state == State.EXCHANGING ? exchange : null;
    boolean http2 = state == State.HTTP2;
    state = State.CLOSED;
    if (http2) h2.closed();
    exchange = null;
    if (current != null) current.abort();
    loop.removeSweepable(this);
    if (lingerEnd != null) lingerEnd.cancel();
    closeChannel();
    listener.connectionClosed(this);
  }
}
