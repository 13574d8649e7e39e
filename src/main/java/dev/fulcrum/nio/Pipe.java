package dev.fulcrum.nio;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;

/**
 * One direction of a forwarded connection: what is read from {@code from} is written to {@code to}. It holds a buffer
 * only while bytes are in flight, and passes the end of the input on as a half-close once everything is written.
 */
public final class Pipe {
  private static final ByteBuffer NOTHING = ByteBuffer.allocate(0);
  private final EventLoop loop;
  private final Transport from;
  private final Transport to;
  /** In fill mode: bytes read and not yet written are [0, position). Null when nothing is in flight. */
  private ByteBuffer buffer;
  private boolean inputEnded;
  private boolean outputShut;
  /** Bytes written to {@code to} so far, for the access log and the byte counters. */
  private long moved;

  public Pipe(EventLoop loop, SocketChannel from, SocketChannel to) {
    this(loop, Transport.plain(from), Transport.plain(to));
  }

  /** Between transports: either side may be TLS, or plain with bytes read before (after a PROXY header). */
  public Pipe(EventLoop loop, Transport from, Transport to) {
    this.loop = loop;
    this.from = from;
    this.to = to;
  }

  /** Reads what has arrived and writes as much of it as the other side takes now; true if any bytes moved. */
  public boolean read() throws IOException {
    if (buffer == null) buffer = loop.acquire();
    int read = 0;
    int n;
    // TLS hands out one record per read and may hold more that no selector event will announce: read on while it gives
    do {
      n = from.read(buffer);
      if (n > 0) read += n;
    } while (n > 0 && buffer.hasRemaining() && from.mayHoldInput());
    if (n < 0) inputEnded = true;
    return write() || read > 0;
  }

  /** Writes what is buffered as far as the other side takes it; true if any bytes moved. */
  public boolean write() throws IOException {
    int written = 0;
    if (buffer != null && buffer.position() > 0) {
      buffer.flip();
      written = to.write(buffer);
      moved += written;
      buffer.compact();
    } else if (to.writePending()) {
      // TLS took the last plaintext but holds its record, which the socket had no room for: a write of nothing sends it
      to.write(NOTHING);
    }
    if (buffer != null && buffer.position() == 0) {
      loop.release(buffer);
      buffer = null;
    }
    if (buffer == null && inputEnded && !outputShut && !to.writePending()) {
      outputShut = true;
      to.shutdownOutput();
    }
    return written > 0;
  }

  public long bytes() {
    return moved;
  }

  /** The side read from, e.g. to ask whether TLS wants to write before it can read on. */
  public Transport source() {
    return from;
  }

  public boolean wantsRead() {
    return !inputEnded && (buffer == null || buffer.hasRemaining());
  }

  /**
   * Bytes wait to be written: read and not yet taken by the other side, or taken by its TLS and not yet sent (without
   * the latter, the end of a transfer stayed inside TLS when the client's socket was full at its last write, and the
   * client waited for it until its timeout).
   */
  public boolean wantsWrite() {
    return buffer != null || to.writePending();
  }

  /** The input has ended and everything read was written, and the end passed on. */
  public boolean finished() {
    return outputShut;
  }

  public void release() {
    if (buffer == null) return;
    loop.release(buffer);
    buffer = null;
  }
}
