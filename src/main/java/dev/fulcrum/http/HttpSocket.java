package dev.fulcrum.http;

import dev.fulcrum.nio.EventLoop;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;

/**
 * One socket of the nio HTTP engine with its input buffer. Bytes read and not yet consumed are {@code [start,
 * in.position())} of a pooled buffer that is held only while such bytes exist, so idle connections hold none.
 */
abstract class HttpSocket implements EventLoop.Handler {
  final EventLoop loop;
  SocketChannel channel;
  SelectionKey key;
  /** Fill mode; null when nothing unconsumed is held. */
  ByteBuffer in;
  int start;
  boolean inputEnded;
  long lastActivity;
  /** Unconsumed bytes already searched for the end of a head, so a head arriving in pieces is not searched anew. */
  private int headScanned;
  /** A reusable view of {@link #in} for writing parts of it without touching its position. */
  private ByteBuffer view;
  private ByteBuffer viewOf;

  HttpSocket(EventLoop loop) {
    this.loop = loop;
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
    int n = channel.read(in);
    if (n < 0) inputEnded = true;
    else if (n > 0) lastActivity = loop.now();
    if (unconsumed() == 0) releaseInput();
    return n;
  }

  /** The index just past the end of the head that begins at {@link #start}, or -1 while it has not all arrived. */
  final int headEnd() {
    int available = unconsumed();
    // the end pattern is up to 5 bytes long: the search resumes that far before where it stopped
    int end = HttpHeads.headEnd(in, start + Math.max(0, headScanned - 4), start + available);
    headScanned = end < 0 ? available : 0;
    return end;
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

  /** The unconsumed bytes {@code [start + from, start + to)} as a buffer ready to be written. */
  final ByteBuffer slice(int from, int to) {
    if (viewOf != in) {
      view = in.duplicate();
      viewOf = in;
    }
    view.limit(start + to).position(start + from);
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
    int ops = (read ? SelectionKey.OP_READ : 0) | (write ? SelectionKey.OP_WRITE : 0);
    if (key.interestOps() != ops) key.interestOps(ops);
  }

  final void closeChannel() {
    releaseInput();
    if (channel == null) return;
    try {
      channel.close();
    } catch (IOException ignored) {
      // closing is all that is left to do
    }
  }
}
