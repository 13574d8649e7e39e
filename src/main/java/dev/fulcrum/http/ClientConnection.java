package dev.fulcrum.http;

import dev.fulcrum.nio.EventLoop;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * A client connection of the nio engine: reads request heads one at a time (pipelined requests wait in the buffer),
 * answers what the proxy answers itself (no route, firewall, limits, malformed requests) and hands the rest to a
 * {@link Forward}. Keep-alive until either side asks to close.
 */
final class ClientConnection extends HttpSocket implements EventLoop.Sweepable {
  private static final byte[] CONTINUE = "HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);
  /** How long a connection closed after an error keeps reading (and dropping) what the client still sends. */
  private static final long LINGER_NANOS = TimeUnit.SECONDS.toNanos(1);

  private final NioHttpListener listener;
  private final BackendPool backends;
  private InetAddress address;
  private String ip;
  private Forward forward;
  /** One of the proxy's own responses being written, or null. */
  private Transfer own;
  private boolean closeAfterOwn;
  /** When the first byte of the head being read arrived, or 0 while none is pending. */
  private long headStartedAt;
  private boolean draining;
  private boolean lingering;
  private boolean closed;

  ClientConnection(NioHttpListener listener, EventLoop loop, SocketChannel channel, BackendPool backends) {
    super(loop);
    this.listener = listener;
    this.channel = channel;
    this.backends = backends;
  }

  void start() {
    try {
      channel.configureBlocking(false);
      channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
      address = ((InetSocketAddress) channel.getRemoteAddress()).getAddress();
      ip = address.getHostAddress();
      key = loop.register(channel, SelectionKey.OP_READ, this);
    } catch (IOException e) {
      close();
      return;
    }
    lastActivity = loop.now();
    loop.addSweepable(this);
  }

  InetAddress address() {
    return address;
  }

  String ip() {
    return ip;
  }

  BackendPool backends() {
    return backends;
  }

  boolean draining() {
    return draining;
  }

  @Override
  public void ready(SelectionKey key) throws IOException {
    if (closed) return;
    int ops = key.readyOps();
    if ((ops & SelectionKey.OP_WRITE) != 0) writable();
    if (!closed && (ops & SelectionKey.OP_READ) != 0) readable();
    if (!closed) updateInterest();
  }

  @Override
  public void abort(Throwable cause) {
    close();
  }

  @Override
  public void sweep(long now) {
    if (closed) return;
    long timeout = listener.settings().clientIdleTimeout().toNanos();
    if (headStartedAt != 0 && now - headStartedAt >= timeout && own == null && !lingering) {
      // as nginx's client_header_timeout: a head trickled in a byte at a time must not hold the connection forever
      respond(new ProxyError(408, "the request head did not arrive within " + timeout / 1_000_000 + " ms"), null, true);
    } else if (now - lastActivity >= timeout) {
      close();
    } else if (forward != null) {
      forward.sweep(now);
    }
  }

  private void writable() {
    if (own != null) writeOwn();
    else if (forward != null) forward.clientWritable();
  }

  private void readable() throws IOException {
    int n = read();
    if (lingering) {
      if (in != null) consume(unconsumed());
      if (n < 0) close();
    } else if (forward != null) {
      forward.clientReadable();
    } else if (own == null) {
      nextRequest();
    }
  }

  /** Takes the next request whose head is complete in the buffer, if any. */
  private void nextRequest() {
    while (!closed && !lingering && forward == null && own == null) {
      int available = unconsumed();
      if (available == 0) {
        if (inputEnded || draining) close();
        return;
      }
      int end = headEnd();
      if (end < 0) {
        if (headStartedAt == 0) headStartedAt = loop.now();
        if (!inputHasRoom()) respond(new ProxyError(tooLargeStatus(), "request head larger than " + in.capacity() + " bytes"), null, true);
        else if (!HttpHeads.mayStartRequest(in, start, start + available)) respond(new ProxyError(400, "not an HTTP/1.x request"), null, true);
        else if (inputEnded) close();
        return;
      }
      headStartedAt = 0;
      RequestHead head;
      try {
        head = HttpHeads.parseRequest(in, start, end, listener.settings().limits());
      } catch (HttpParseException e) {
        consume(end - start);
        respond(e.error(), null, true);
        return;
      }
      consume(end - start);
      handle(head);
    }
  }

  /** A head that fills the whole buffer: 414 while its request line has not even ended, else 431. */
  private int tooLargeStatus() {
    for (int i = start; i < in.position(); i++) {
      if (in.get(i) == '\n') return 431;
    }
    return 414;
  }

  private void handle(RequestHead head) {
    String requestId = HeaderRewriter.requestId(head.headers());
    boolean mustClose = head.hasBody() || !head.keepAlive();
    RequestTarget target;
    try {
      target = RequestTarget.parse(head.target());
    } catch (HttpParseException e) {
      respond(e.error(), requestId, true);
      return;
    }
    String hostHeader = head.headers().get("host");
    if (target.authority() != null && hostHeader != null && !hostHeader.equalsIgnoreCase(target.authority())) {
      respond(new ProxyError(400, "the Host header and the request target name different hosts"), requestId, true);
      return;
    }
    String host = target.authority() != null ? target.authority() : hostHeader;
    Route route = listener.routes().match(host == null ? "" : host, target.path());
    if (route == null) {
      respond(ProxyError.noRoute(), requestId, mustClose);
    } else if (!listener.firewall().permits(address, target.path()) || !route.firewall.permits(address, target.path())) {
      respond(ProxyError.forbidden(), requestId, mustClose);
    } else if (head.contentLength() > listener.settings().limits().maxBodySize()) {
      respond(ProxyError.tooLarge(listener.settings().limits().maxBodySize()), requestId, true);
    } else {
      Forward next = new Forward(this, listener, head, route, requestId, target, host);
      forward = next;
      if (!next.start()) {
        forward = null;
        respond(ProxyError.noBackend(route.settings.pool()), requestId, mustClose);
      }
    }
  }

  /** Answers the client with one of the proxy's own responses; {@code close} ends the connection after it. */
  void respond(ProxyError error, String requestId, boolean close) {
    forward = null;
    boolean closing = close || draining;
    own = new Transfer(this, HeadWriter.ownResponse(error, requestId, closing), Transfer.Framing.NONE, 0, null);
    closeAfterOwn = closing;
    writeOwn();
  }

  private void writeOwn() {
    try {
      if (!own.pump(this)) return;
    } catch (IOException | HttpParseException e) {
      close();
      return;
    }
    own = null;
    if (closeAfterOwn) linger();
    else nextRequest();
  }

  /** Tells a client waiting on {@code Expect: 100-continue} to send its body. */
  void sendContinue() {
    try {
      if (channel.write(ByteBuffer.wrap(CONTINUE)) < CONTINUE.length) close();
    } catch (IOException e) {
      close();
    }
  }

  /** The forward is over; the connection takes the next request or closes. */
  void forwardDone(boolean close) {
    forward = null;
    if (close) linger();
    else nextRequest();
  }

  /** Finishes the current request if any, then closes; an idle connection closes at once. */
  void drain() {
    draining = true;
    if (forward == null && own == null) close();
  }

  void updateInterest() {
    if (closed) return;
    boolean read = !inputEnded && inputHasRoom();
    boolean write = (own != null && own.blocked) || (forward != null && forward.writeBlocked());
    interest(read, write);
  }

  /**
   * Closes the sending side and drops what the client still sends for a moment before closing: closing with unread
   * input would reset the connection, and the client could lose the response it has not read yet.
   */
  private void linger() {
    lingering = true;
    try {
      channel.shutdownOutput();
    } catch (IOException e) {
      close();
      return;
    }
    if (in != null) consume(unconsumed());
    if (inputEnded) {
      close();
      return;
    }
    loop.schedule(LINGER_NANOS, this::close);
    updateInterest();
  }

  void close() {
    if (closed) return;
    closed = true;
    if (forward != null) forward.abort();
    forward = null;
    loop.removeSweepable(this);
    closeChannel();
    listener.connectionClosed(this);
  }
}
