package dev.fulcrum.http;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Follows a chunked body (RFC 9112 §7.1) through a connection's buffer, call after call, to find where it ends. The
 * proxy forwards the chunked bytes as they are, so a backend parses exactly what this accepted: every line end must be
 * CRLF (no bare LF, never a lone CR), and anything else is refused rather than guessed at. Reads with absolute indices
 * and allocates nothing; chunk data is skipped over, not read.
 *
 * <p>After an exception the scanner is in an undefined state until {@link #reset()}: the connection is to be closed.
 */
final class ChunkedScanner {
  private static final int MAX_SIZE_DIGITS = 16;
  private static final int MAX_EXTENSION = 4096;
  private static final int MAX_TRAILER_SECTION = 64 * 1024;

  private static final byte CR = '\r';
  private static final byte LF = '\n';

  private static final byte[] HEX = new byte[256];

  static {
    Arrays.fill(HEX, (byte) -1);
    for (int c = '0'; c <= '9'; c++) HEX[c] = (byte) (c - '0');
    for (int c = 'a'; c <= 'f'; c++) HEX[c] = (byte) (c - 'a' + 10);
    for (int c = 'A'; c <= 'F'; c++) HEX[c] = (byte) (c - 'A' + 10);
  }

  private static final int SIZE_START = 0;
  private static final int SIZE = 1;
  private static final int SIZE_SPACE = 2;
  private static final int EXTENSION = 3;
  private static final int SIZE_LF = 4;
  private static final int DATA = 5;
  private static final int DATA_CR = 6;
  private static final int DATA_LF = 7;
  private static final int TRAILER_START = 8;
  private static final int TRAILER = 9;
  private static final int TRAILER_LF = 10;
  private static final int END_LF = 11;
  private static final int DONE = 12;

  private final long maxDataSize;
  private int state;
  /** The chunk size while its digits arrive, then the data bytes of the chunk still to come. */
  private long chunk;
  private int digits;
  private int extension;
  private int trailerSection;
  private long dataSize;

  ChunkedScanner(long maxDataSize) {
    this.maxDataSize = maxDataSize;
  }

  /** Makes the scanner ready for the next message's body. */
  void reset() {
    state = SIZE_START;
    chunk = 0;
    digits = 0;
    extension = 0;
    trailerSection = 0;
    dataSize = 0;
  }

  boolean done() {
    return state == DONE;
  }

  /** The chunk data bytes seen so far. */
  long dataSize() {
    return dataSize;
  }

  /**
   * Consumes buf[from, limit): returns limit while the body goes on, or, when the body ends in there, the index just
   * past the CRLF that ends its trailer section ({@link #done()} is then true and the bytes after it are the next
   * message's). Once done, consumes nothing.
   */
  int scan(ByteBuffer buf, int from, int limit) throws HttpParseException {
    int i = from;
    while (i < limit) {
      if (state == DATA) {
        int skip = (int) Math.min(chunk, limit - i);
        i += skip;
        chunk -= skip;
        dataSize += skip;
        if (chunk == 0) state = DATA_CR;
        continue;
      }
      if (state == DONE) return i;
      byte c = buf.get(i++);
      switch (state) {
        case SIZE_START, SIZE -> {
          int d = HEX[c & 0xFF];
          if (d >= 0) {
            if (digits == MAX_SIZE_DIGITS || chunk > Long.MAX_VALUE >> 4) throw bad("chunk size too large");
            chunk = chunk << 4 | d;
            digits++;
            state = SIZE;
          } else if (state == SIZE_START) {
            throw bad("chunk size is not a hexadecimal number");
          } else {
            sized();
            afterSize(c);
          }
        }
        case SIZE_SPACE -> {
          extensionByte();
          // RFC 9112 §7.1.1 allows whitespace before an extension, and only there
          if (c == ';') state = EXTENSION;
          else if (c != ' ' && c != '\t') throw bad("malformed chunk size line");
        }
        case EXTENSION -> {
          if (c == CR) state = SIZE_LF;
          else if (isCtl(c)) throw bad("control character in chunk extension");
          else extensionByte();
        }
        case SIZE_LF -> {
          if (c != LF) throw bad("chunk size line not ended by CRLF");
          state = chunk == 0 ? TRAILER_START : DATA;
        }
        case DATA_CR -> {
          if (c != CR) throw bad("chunk data not followed by CRLF");
          state = DATA_LF;
        }
        case DATA_LF -> {
          if (c != LF) throw bad("chunk data not followed by CRLF");
          state = SIZE_START;
          digits = 0;
          extension = 0;
        }
        case TRAILER_START, TRAILER -> {
          trailerByte();
          if (c == CR) state = state == TRAILER_START ? END_LF : TRAILER_LF;
          else if (isCtl(c)) throw bad("control character in trailer field");
          else state = TRAILER;
        }
        case TRAILER_LF -> {
          trailerByte();
          if (c != LF) throw bad("trailer field not ended by CRLF");
          state = TRAILER_START;
        }
        case END_LF -> {
          trailerByte();
          if (c != LF) throw bad("chunked body not ended by CRLF");
          state = DONE;
          return i;
        }
      }
    }
    return i;
  }

  /** The size line's digits are all there: the chunk must fit in what is left of the limit. */
  private void sized() throws HttpParseException {
    if (chunk > maxDataSize - dataSize) {
      throw new HttpParseException(413, "chunked body larger than " + maxDataSize + " bytes");
    }
  }

  /** Counts the bytes between the size and the line end: whitespace, ';' and the extension itself. */
  private void extensionByte() throws HttpParseException {
    if (++extension > MAX_EXTENSION) throw bad("chunk extension longer than " + MAX_EXTENSION + " bytes");
  }

  private void trailerByte() throws HttpParseException {
    if (++trailerSection > MAX_TRAILER_SECTION) {
      throw bad("trailer section longer than " + MAX_TRAILER_SECTION / 1024 + " KiB");
    }
  }

  private void afterSize(byte c) throws HttpParseException {
    if (c == CR) {
      state = SIZE_LF;
      return;
    }
    extensionByte();
    switch (c) {
      case ';' -> state = EXTENSION;
      case ' ', '\t' -> state = SIZE_SPACE;
      default -> throw bad("malformed chunk size line");
    }
  }

  private static boolean isCtl(byte c) {
    return (c >= 0 && c < ' ' && c != '\t') || c == 0x7F;
  }

  private static HttpParseException bad(String problem) {
    return new HttpParseException(400, problem);
  }
}
