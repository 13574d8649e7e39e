package dev.fulcrum.http;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * One message on its way from one socket to another: the head the proxy wrote for it, then its body bytes as they
 * arrive, unchanged, up to where its framing says the body ends. Bytes the other side cannot take yet stay in the
 * source's buffer, so a slow reader slows the sender down instead of filling memory.
 */
final class Transfer {
  enum Framing { NONE, LENGTH, CHUNKED, UNTIL_CLOSE }

  private final HttpSocket source;
  private final Framing framing;
  private final ChunkedScanner chunked;
  private final ByteBuffer[] parts = new ByteBuffer[2];
  private ByteBuffer head;
  private long remaining;
  /** Bytes after the source's start known to belong to the body (chunked framing) and not written yet. */
  private int scanned;
  private boolean sentAny;
  /** The last write could not take everything offered: wait until the destination is writable. */
  boolean blocked;

  Transfer(HttpSocket source, ByteBuffer head, Framing framing, long length, ChunkedScanner chunked) {
    this.source = source;
    this.head = head;
    this.framing = framing;
    this.remaining = length;
    this.chunked = chunked;
  }

  /** Writes as much as the destination takes now; true once the whole message is written. */
  boolean pump(HttpSocket destination) throws IOException, HttpParseException {
    int headLength = head == null ? 0 : head.remaining();
    int body = bodyAvailable();
    if (headLength == 0 && body == 0) {
      blocked = false;
      return finished();
    }
    long written;
    if (headLength > 0 && body > 0) {
      parts[0] = head;
      parts[1] = source.slice(0, body);
      written = destination.channel.write(parts);
    } else if (headLength > 0) {
      written = destination.channel.write(head);
    } else {
      written = destination.channel.write(source.slice(0, body));
    }
    if (written > 0) {
      sentAny = true;
      destination.lastActivity = destination.loop.now();
    }
    if (head != null && !head.hasRemaining()) head = null;
    int bodyWritten = (int) Math.max(0, written - headLength);
    if (bodyWritten > 0) {
      source.consume(bodyWritten);
      if (framing == Framing.LENGTH) remaining -= bodyWritten;
      if (framing == Framing.CHUNKED) scanned -= bodyWritten;
    }
    blocked = written < headLength + body;
    return !blocked && finished();
  }

  /** Whether body bytes are still to come from the source. */
  boolean wantsInput() {
    return switch (framing) {
      case NONE -> false;
      case LENGTH -> remaining > source.unconsumed();
      case CHUNKED -> !chunked.done();
      case UNTIL_CLOSE -> !source.inputEnded;
    };
  }

  /** Whether any byte of the message reached the destination. */
  boolean sentAny() {
    return sentAny;
  }

  boolean untilClose() {
    return framing == Framing.UNTIL_CLOSE;
  }

  private int bodyAvailable() throws HttpParseException {
    int available = source.unconsumed();
    switch (framing) {
      case LENGTH:
        return (int) Math.min(available, remaining);
      case CHUNKED:
        if (!chunked.done() && scanned < available) {
          scanned = chunked.scan(source.in, source.start + scanned, source.start + available) - source.start;
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
      case UNTIL_CLOSE -> source.inputEnded && source.unconsumed() == 0;
    };
  }
}
