package dev.fulcrum.http.wire;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Follows a chunked body (RFC 9112 §7.1) through a connection's buffer, call after call, to find where it ends. The
 * proxy forwards the chunked bytes as they are, so a backend parses exactly what this accepted: every line end must be
 * CRLF (no bare LF, never a lone CR), and anything else is refused rather than guessed at. Reads with absolute indices
 * and allocates nothing; chunk data is skipped over, not read.
 *
 * <p>A body it refuses leaves it {@link #failed()} with the {@link #error()} until {@link #reset()}: the connection is
 * to be closed.
 */
public final class ChunkedScanner {
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

  /** Where in the body the next byte falls (RFC 9112 §7.1 names the parts). */
  private enum State {
    SIZE_START, SIZE, SIZE_SPACE, EXTENSION, SIZE_LF, DATA, DATA_CR, DATA_LF, TRAILER_START, TRAILER, TRAILER_LF,
    END_LF, DONE, FAILED
  }

  private final long maxDataSize;
  private State state = State.SIZE_START;
  private WireError error;
  /** The chunk size while its digits arrive, then the data bytes of the chunk still to come. */
  private long chunk;
  private int digits;
  private int extension;
  private int trailerSection;
  private long dataSize;

  public ChunkedScanner(long maxDataSize) {
    this.maxDataSize = maxDataSize;
  }

  /** Makes the scanner ready for the next message's body. */
  public void reset() {
    state = State.SIZE_START;
    error = null;
    chunk = 0;
    digits = 0;
    extension = 0;
    trailerSection = 0;
    dataSize = 0;
  }

  public boolean done() {
    return state == State.DONE;
  }

  /** Whether the body was refused; {@link #error()} says why. */
  public boolean failed() {
    return state == State.FAILED;
  }

  /** Why the body was refused, or null. */
  public WireError error() {
    return error;
  }

  /** The chunk data bytes seen so far. */
  public long dataSize() {
    return dataSize;
  }

  /**
   * Consumes buf[from, limit): returns limit while the body goes on, or, when the body ends in there, the index just
   * past the CRLF that ends its trailer section ({@link #done()} is then true and the bytes after it are the next
   * message's). Once done, consumes nothing. Returns -1 when the body is refused ({@link #failed()}).
   */
  public int scan(ByteBuffer buf, int from, int limit) {
    if (state == State.FAILED) return -1;
    try {
      return scanChecked(buf, from, limit);
    } catch (Refused e) {
      state = State.FAILED;
      error = e.error;
      return -1;
    }
  }

  /**
   * For a proxy that takes the chunk data out of the framing (an HTTP/2 client gets DATA frames): consumes framing
   * bytes of buf[from, limit) up to the first chunk data byte and returns its index ({@link #inData()} is then true:
   * take up to {@link #chunkLeft()} bytes there and call {@link #skipData}), or where the bytes or the body ended
   * as {@link #scan} does, or -1 when the body is refused. The framing rules are {@link #scan}'s.
   */
  public int scanFraming(ByteBuffer buf, int from, int limit) {
    if (state == State.FAILED) return -1;
    try {
      return scanChecked(buf, from, limit, true);
    } catch (Refused e) {
      state = State.FAILED;
      error = e.error;
      return -1;
    }
  }

  /** Between a chunk's size line and the end of its data. */
  public boolean inData() {
    return state == State.DATA;
  }

  /** The data bytes of the current chunk still to come. */
  public long chunkLeft() {
    return state == State.DATA ? chunk : 0;
  }

  /** {@code n} data bytes of the current chunk were taken (at most {@link #chunkLeft()}). */
  public void skipData(int n) {
    chunk -= n;
    dataSize += n;
    if (chunk == 0) state = State.DATA_CR;
  }

  private int scanChecked(ByteBuffer buf, int from, int limit) throws Refused {
    return scanChecked(buf, from, limit, false);
  }

  private int scanChecked(ByteBuffer buf, int from, int limit, boolean stopAtData) throws Refused {
    int i = from;
    while (i < limit) {
      if (state == State.DATA) {
        if (stopAtData) return i;
        int skip = (int) Math.min(chunk, limit - i);
        i += skip;
        chunk -= skip;
        dataSize += skip;
        if (chunk == 0) state = State.DATA_CR;
        continue;
      }
      if (state == State.DONE) return i;
      byte c = buf.get(i++);
      switch (state) {
        case SIZE_START, SIZE -> {
          int d = HEX[c & 0xFF];
          if (d >= 0) {
            if (digits == MAX_SIZE_DIGITS || chunk > Long.MAX_VALUE >> 4) throw bad("chunk size too large");
            chunk = chunk << 4 | d;
            digits++;
            state = State.SIZE;
          } else if (state == State.SIZE_START) {
            throw bad("chunk size is not a hexadecimal number");
          } else {
            sized();
            afterSize(c);
          }
        }
        case SIZE_SPACE -> {
          extensionByte();
          // RFC 9112 §7.1.1 allows whitespace before an extension, and only there
          if (c == ';') state = State.EXTENSION;
          else if (c != ' ' && c != '\t') throw bad("malformed chunk size line");
        }
        case EXTENSION -> {
          if (c == CR) state = State.SIZE_LF;
          else if (isCtl(c)) throw bad("control character in chunk extension");
          else extensionByte();
        }
        case SIZE_LF -> {
          if (c != LF) throw bad("chunk size line not ended by CRLF");
          state = chunk == 0 ? State.TRAILER_START : State.DATA;
        }
        case DATA_CR -> {
          if (c != CR) throw bad("chunk data not followed by CRLF");
          state = State.DATA_LF;
        }
        case DATA_LF -> {
          if (c != LF) throw bad("chunk data not followed by CRLF");
          state = State.SIZE_START;
          digits = 0;
          extension = 0;
        }
        case TRAILER_START, TRAILER -> {
          trailerByte();
          if (c == CR) state = state == State.TRAILER_START ? State.END_LF : State.TRAILER_LF;
          else if (isCtl(c)) throw bad("control character in trailer field");
          else state = State.TRAILER;
        }
        case TRAILER_LF -> {
          trailerByte();
          if (c != LF) throw bad("trailer field not ended by CRLF");
          state = State.TRAILER_START;
        }
        case END_LF -> {
          trailerByte();
          if (c != LF) throw bad("chunked body not ended by CRLF");
          state = State.DONE;
          return i;
        }
      }
    }
    return i;
  }

  /** The size line's digits are all there: the chunk must fit in what is left of the limit. */
  private void sized() throws Refused {
    if (chunk > maxDataSize - dataSize) {
      throw new Refused(new WireError(WireError.Kind.BODY_TOO_LARGE, "chunked body larger than " + maxDataSize + " bytes"));
    }
  }

  /** Counts the bytes between the size and the line end: whitespace, ';' and the extension itself. */
  private void extensionByte() throws Refused {
    if (++extension > MAX_EXTENSION) throw bad("chunk extension longer than " + MAX_EXTENSION + " bytes");
  }

  private void trailerByte() throws Refused {
    if (++trailerSection > MAX_TRAILER_SECTION) {
      throw bad("trailer section longer than " + MAX_TRAILER_SECTION / 1024 + " KiB");
    }
  }

  private void afterSize(byte c) throws Refused {
    if (c == CR) {
      state = State.SIZE_LF;
      return;
    }
    extensionByte();
    switch (c) {
      case ';' -> state = State.EXTENSION;
      case ' ', '\t' -> state = State.SIZE_SPACE;
      default -> throw bad("malformed chunk size line");
    }
  }

  private static boolean isCtl(byte c) {
    return Chars.isCtl(c);
  }

  private static Refused bad(String problem) {
    return new Refused(WireError.malformed(problem));
  }

  /** Unwinds the scan from deep inside a chunk line; what it carries is kept as a value. */
  private static final class Refused extends Exception {
    final WireError error;

    Refused(WireError error) {
      super(error.problem(), null, false, false);
      this.error = error;
    }
  }
}
