package dev.fulcrum.http.nio;

import dev.fulcrum.http.wire.BodyFraming;
import dev.fulcrum.http.wire.ChunkedScanner;
import dev.fulcrum.http.wire.WireError;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * One message on its way from one socket to another: the head the proxy wrote for it, then its body bytes as they
 * arrive, unchanged, up to where its framing says the body ends. Bytes the other side cannot take yet stay in the
 * source's buffer, so a slow reader slows the sender down instead of filling memory.
 */
final class BodyRelay {
  /** The body broke its chunked framing or its size limit: what is left of the connection cannot be trusted. */
  static final class MalformedBody extends IOException {
    final WireError error;

    MalformedBody(WireError error) {
      super(error.problem(), null);
      this.error = error;
    }

    @Override
    public synchronized Throwable fillInStackTrace() {
      return this; // thrown per bad message, often by hostile traffic
    }
  }

  private final HttpSocket source;
  private final BodyFraming framing;
  private final ChunkedScanner chunked;
  private ByteBuffer head;
  private long remaining;
  /** Unconsumed source bytes known to belong to the body (chunked framing) and not written yet. */
  private int scanned;
  private boolean complete;
  /** The last write could not take everything offered: wait until the destination is writable. */
  private boolean blocked;
  /** Bytes written so far, head included, and of them the body's: for the access log and the byte counters. */
  private long written;
  private long bodyBytes;

  /** {@code head} may be null (a tunnel's second direction); {@code maxChunkedBody} bounds a chunked body. */
  BodyRelay(HttpSocket source, ByteBuffer head, BodyFraming framing, long length, long maxChunkedBody) {
    this.source = source;
    this.head = head;
    this.framing = framing;
    this.remaining = length;
    this.chunked = framing == BodyFraming.CHUNKED ? new ChunkedScanner(maxChunkedBody) : null;
  }

  /** Bytes to send before the head (a PROXY header on a new connection); before anything was written only. */
  void precede(ByteBuffer first) {
    ByteBuffer both = ByteBuffer.allocate(first.remaining() + (head == null ? 0 : head.remaining()));
    both.put(first);
    if (head != null) both.put(head);
    head = both.flip();
  }

  /** Writes as much as the destination takes now; true once the whole message is written. */
  boolean pump(HttpSocket destination) throws IOException {
    if (complete) return true;
    int headLength = head == null ? 0 : head.remaining();
    int body = bodyAvailable();
    if (headLength == 0 && body == 0) {
      blocked = false;
      return complete = finished();
    }
    long written = source.writeTo(destination, head, body);
    if (head != null && !head.hasRemaining()) head = null;
    int bodyWritten = (int) Math.max(0, written - headLength);
    this.written += Math.max(0, written);
    bodyBytes += bodyWritten;
    if (bodyWritten > 0) {
      source.consume(bodyWritten);
      if (framing == BodyFraming.LENGTH) remaining -= bodyWritten;
      if (framing == BodyFraming.CHUNKED) scanned -= bodyWritten;
    }
    blocked = written < headLength + body;
    return complete = !blocked && finished();
  }

  long bytesWritten() {
    return written;
  }

  long bodyBytes() {
    return bodyBytes;
  }

  /** Whether the whole message was written. */
  boolean complete() {
    return complete;
  }

  /** Waiting for the destination to take more. */
  boolean blocked() {
    return blocked && !complete;
  }

  /** Whether body bytes are still to come from the source. */
  boolean wantsInput() {
    return switch (framing) {
      case NONE -> false;
      case LENGTH -> remaining > source.unconsumed();
      case CHUNKED -> !chunked.done();
      case UNTIL_CLOSE -> !source.inputEnded();
    };
  }

  boolean untilClose() {
    return framing == BodyFraming.UNTIL_CLOSE;
  }

  private int bodyAvailable() throws MalformedBody {
    int available = source.unconsumed();
    switch (framing) {
      case LENGTH:
        return (int) Math.min(available, remaining);
      case CHUNKED:
        if (!chunked.done() && scanned < available) {
          int end = source.scan(chunked, scanned);
          if (end < 0) throw new MalformedBody(chunked.error());
          scanned = end;
        }
        return scanned;
      case UNTIL_CLOSE:
        return available;
      default:
        return 0;
    }
  }

  private boolean finished() {
    if (head != null) return false;
    return switch (framing) {
      case NONE -> true;
      case LENGTH -> remaining == 0;
      case CHUNKED -> chunked.done() && scanned == 0;
      case UNTIL_CLOSE -> source.inputEnded() && source.unconsumed() == 0;
    };
  }
}
