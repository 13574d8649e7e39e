package dev.fulcrum.http.nio;

import dev.fulcrum.http.wire.ChunkedScanner;
import dev.fulcrum.http.wire.HttpHeads;
import dev.fulcrum.nio.EventLoop;
import dev.fulcrum.nio.PrefixedChannel;
import dev.fulcrum.nio.Transport;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;

/**
 * One socket of the nio HTTP engine with its input buffer. Bytes read and not yet consumed are {@code [start,
 * in.position())} of a pooled buffer that is held only while such bytes exist, so idle connections hold none. Offsets
 * given to and returned by its methods count from the first unconsumed byte.
 */
abstract class HttpSocket implements EventLoop.Handler {
  protected final EventLoop loop;
  private SocketChannel channel;
  private Transport transport;
  private SelectionKey key;
  /** Fill mode; null when nothing unconsumed is held. */
  private ByteBuffer in;
  private int start;
  private boolean inputEnded;
  /** The last read stopped with the input buffer full ({@link #readStoppedFull}). */
  private boolean stoppedFull;
  private long lastActivity;
  /** Unconsumed bytes already searched for the end of a head, so a head arriving in pieces is not searched anew. */
  private int headScanned;
  /** A reusable view of {@link #in} for writing parts of it without touching its position. */
  private ByteBuffer view;
  private ByteBuffer viewOf;
  private final ByteBuffer[] gather = new ByteBuffer[2];

  HttpSocket(EventLoop loop) {
    this.loop = loop;
  }

  final void attach(SocketChannel channel, SelectionKey key) {
    attach(channel, Transport.plain(channel), key);
  }

  final void attach(SocketChannel channel, Transport transport, SelectionKey key) {
    this.channel = channel;
    this.transport = transport;
    this.key = key;
    this.lastActivity = loop.now();
  }

  final Transport transport() {
    return transport;
  }

  final SelectionKey currentKey() {
    return key;
  }

  /** Registered with a selection key still valid. */
  final boolean isOpen() {
    return key != null && key.isValid();
  }

  final boolean inputEnded() {
    return inputEnded;
  }

  final long lastActivity() {
    return lastActivity;
  }

  /**
   * Whether the last {@link #read} stopped because the input buffer was full: only then may TLS still hold bytes it
   * decrypted (otherwise the read went on until the transport had none), to be read once the buffer has room.
   */
  final boolean readStoppedFull() {
    return stoppedFull;
  }

  /** Reads what has arrived into the input buffer, making room first; the count, or -1 at end of input. */
  final int read() throws IOException {
    if (in == null) {
      in = loop.acquire();
      start = 0;
    } else if (!in.hasRemaining() && start > 0) {
      compact();
    }
    if (!in.hasRemaining()) return 0;
    int n = transport.read(in);
    // TLS hands out one record per read and may hold more that no selector event will announce: read on while it gives
    while (n > 0 && in.hasRemaining() && transport.mayHoldInput()) {
      int more = transport.read(in);
      if (more < 0) inputEnded = true;
      if (more <= 0) break;
      n += more;
    }
    stoppedFull = !in.hasRemaining();
    if (n < 0) inputEnded = true;
    else if (n > 0) lastActivity = loop.now();
    if (unconsumed() == 0) releaseInput();
    return n;
  }

  /** The offset just past the end of the head at the first unconsumed byte, or -1 while it has not all arrived. */
  final int headEnd() {
    int available = unconsumed();
    if (available == 0) return -1;
    // the end pattern is up to 5 bytes long: the search resumes that far before where it stopped
    int end = HttpHeads.headEnd(in, start + Math.max(0, headScanned - 4), start + available);
    headScanned = end < 0 ? available : 0;
    return end < 0 ? -1 : end - start;
  }

  /** Whether the unconsumed bytes can still begin a request line (see {@link HttpHeads#mayStartRequest}). */
  final boolean mayStartRequest() {
    return HttpHeads.mayStartRequest(in, start, in.position());
  }

  /** Whether the unconsumed bytes hold a line end: a head that fills the buffer then has its request line. */
  final boolean hasLineEnd() {
    for (int i = start; i < in.position(); i++) {
      if (in.get(i) == '\n') return true;
    }
    return false;
  }

  /** The input buffer's size, the largest head that fits. */
  final int inputCapacity() {
    return in == null ? 0 : in.capacity();
  }

  /** Hands the unconsumed bytes {@code [0, length)} to a head parser: the buffer and absolute indices. */
  final <T> T parseHead(int length, HeadParser<T> parser) {
    return parser.parse(in, start, start + length);
  }

  interface HeadParser<T> {
    T parse(ByteBuffer buffer, int from, int end);
  }

  /** Feeds unconsumed bytes {@code [from, unconsumed())} to the scanner; the offset where the body ends or -1. */
  final int scan(ChunkedScanner scanner, int from) {
    int end = scanner.scan(in, start + from, start + unconsumed());
    return end < 0 ? -1 : end - start;
  }

  /** Feeds the unconsumed bytes to the scanner up to the next chunk data byte (see ChunkedScanner#scanFraming). */
  final int scanFraming(ChunkedScanner scanner) {
    if (in == null) return 0;
    int end = scanner.scanFraming(in, start, start + unconsumed());
    return end < 0 ? -1 : end - start;
  }

  /** The unconsumed bytes {@code [0, length)} as a buffer to read from; valid until the next read or consume. */
  final ByteBuffer unconsumedView(int length) {
    return slice(length);
  }

  final int unconsumed() {
    return in == null ? 0 : in.position() - start;
  }

  /** Whether the input buffer has room for more (or none is held yet). */
  final boolean inputHasRoom() {
    return in == null || in.hasRemaining() || start > 0;
  }

  final void consume(int n) {
    start += n;
    if (start == in.position()) releaseInput();
  }

  final void consumeAll() {
    if (in != null) consume(unconsumed());
  }

  /** Writes {@code head} (may be null) and then this socket's unconsumed bytes {@code [0, body)} to {@code to}. */
  final long writeTo(HttpSocket to, ByteBuffer head, int body) throws IOException {
    long written;
    if (head != null && head.hasRemaining() && body > 0) {
      gather[0] = head;
      gather[1] = slice(body);
      written = to.transport.write(gather);
    } else if (body > 0) {
      written = to.transport.write(slice(body));
    } else {
      written = to.transport.write(head);
    }
    if (written > 0) to.lastActivity = to.loop.now();
    return written;
  }

  /** Sends what TLS still holds encrypted from an earlier write (see Transport#writePending); false on failure. */
  final boolean flushPending() {
    if (!transport.writePending()) return true;
    try {
      transport.write(EMPTY);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static final ByteBuffer EMPTY = ByteBuffer.allocate(0);

  /** Writes bytes of the proxy's own to this socket. */
  final int write(ByteBuffer bytes) throws IOException {
    int written = transport.write(bytes);
    if (written > 0) lastActivity = loop.now();
    return written;
  }

  /** The unconsumed bytes {@code [0, length)} as a buffer ready to be written. */
  private ByteBuffer slice(int length) {
    if (viewOf != in) {
      view = in.duplicate();
      viewOf = in;
    }
    view.limit(start + length).position(start);
    return view;
  }

  final void releaseInput() {
    if (in == null) return;
    loop.release(in);
    in = null;
    start = 0;
  }

  private void compact() {
    in.limit(in.position()).position(start);
    in.compact();
    start = 0;
  }

  final void interest(boolean read, boolean write) {
    if (key == null || !key.isValid()) return;
    int ops = (read ? SelectionKey.OP_READ : 0)
        | (write || transport.wantsWrite() || transport.writePending() ? SelectionKey.OP_WRITE : 0);
    int before = key.interestOps();
    if (before == ops) return;
    key.interestOps(ops);
    // TLS may hold decrypted bytes that arrived while reading was off: no selector event will say so
    if (read && (before & SelectionKey.OP_READ) == 0 && transport.mayHoldInput()) loop.execute(this::readResumed);
  }

  /** Reading was turned back on while the transport may hold input already: look at it as if it were readable. */
  void readResumed() {}

  /** Ends the sending side (a half-close); false when the socket is already gone. */
  final boolean shutdownOutput() {
    try {
      transport.shutdownOutput();
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  final void closeChannel() {
    releaseInput();
    if (transport != null) transport.close();
    else if (channel != null) {
      try {
        channel.close();
      } catch (IOException ignored) {
        // closing is all that is left to do
      }
    }
  }
}
