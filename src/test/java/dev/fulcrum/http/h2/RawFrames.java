package dev.fulcrum.http.h2;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * A raw HTTP/2 frame writer for tests: any frame, valid or not, byte for byte. Header blocks are HPACK literals
 * without indexing and without Huffman coding (RFC 7541 §6.2.2), so any name or value (uppercase, CR/LF) can be sent.
 */
public final class RawFrames {
  public static final int DATA = 0, HEADERS = 1, PRIORITY = 2, RST_STREAM = 3, SETTINGS = 4, PUSH_PROMISE = 5, PING = 6,
      GOAWAY = 7, WINDOW_UPDATE = 8, CONTINUATION = 9;
  public static final int END_STREAM = 1, ACK = 1, END_HEADERS = 4, PADDED = 8;
  public static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);

  private final ByteArrayOutputStream out = new ByteArrayOutputStream();

  public byte[] bytes() {
    return out.toByteArray();
  }

  /** The client preface and a SETTINGS frame with a setting in it (a split inside it must work too). */
  public RawFrames preface() {
    out.writeBytes(PREFACE);
    return settings(3, 100, 2, 0);
  }

  public RawFrames frame(int type, int flags, int stream, byte[] payload) {
    int n = payload.length;
    out.write(n >>> 16);
    out.write(n >>> 8);
    out.write(n);
    out.write(type);
    out.write(flags);
    out.write(stream >>> 24 & 0x7f);
    out.write(stream >>> 16);
    out.write(stream >>> 8);
    out.write(stream);
    out.writeBytes(payload);
    return this;
  }

  /** SETTINGS with id/value pairs. */
  public RawFrames settings(int... pairs) {
    byte[] p = new byte[pairs.length / 2 * 6];
    for (int i = 0; i < pairs.length; i += 2) {
      int o = i / 2 * 6;
      p[o] = (byte) (pairs[i] >>> 8);
      p[o + 1] = (byte) pairs[i];
      put32(p, o + 2, pairs[i + 1]);
    }
    return frame(SETTINGS, 0, 0, p);
  }

  public RawFrames settingsAck() {
    return frame(SETTINGS, ACK, 0, new byte[0]);
  }

  public RawFrames headers(int stream, boolean endStream, byte[] block) {
    return frame(HEADERS, END_HEADERS | (endStream ? END_STREAM : 0), stream, block);
  }

  /** A GET of {@code path} on {@code authority}. */
  public RawFrames get(int stream, String path) {
    return headers(stream, true, block(":method", "GET", ":scheme", "https", ":path", path, ":authority", "example.com"));
  }

  public RawFrames data(int stream, boolean endStream, byte[] body) {
    return frame(DATA, endStream ? END_STREAM : 0, stream, body);
  }

  public RawFrames rst(int stream, int error) {
    byte[] p = new byte[4];
    put32(p, 0, error);
    return frame(RST_STREAM, 0, stream, p);
  }

  public RawFrames ping(long payload) {
    byte[] p = new byte[8];
    put32(p, 0, (int) (payload >>> 32));
    put32(p, 4, (int) payload);
    return frame(PING, 0, 0, p);
  }

  public RawFrames priority(int stream, int parent) {
    byte[] p = new byte[5];
    put32(p, 0, parent);
    p[4] = 15;
    return frame(PRIORITY, 0, stream, p);
  }

  public RawFrames windowUpdate(int stream, int delta) {
    byte[] p = new byte[4];
    put32(p, 0, delta);
    return frame(WINDOW_UPDATE, 0, stream, p);
  }

  /** An HPACK block of literal fields: name, value, name, value... */
  public static byte[] block(String... fields) {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    for (int i = 0; i < fields.length; i += 2) {
      b.write(0x00); // literal without indexing, new name
      string(b, fields[i]);
      string(b, fields[i + 1]);
    }
    return b.toByteArray();
  }

  private static void string(ByteArrayOutputStream b, String s) {
    byte[] bytes = s.getBytes(StandardCharsets.ISO_8859_1);
    integer(b, bytes.length, 7, 0);
    b.writeBytes(bytes);
  }

  /** RFC 7541 §5.1 integer with an N-bit prefix. */
  static void integer(ByteArrayOutputStream b, int value, int prefixBits, int firstByteFlags) {
    int max = (1 << prefixBits) - 1;
    if (value < max) {
      b.write(firstByteFlags | value);
      return;
    }
    b.write(firstByteFlags | max);
    value -= max;
    while (value >= 128) {
      b.write(value % 128 + 128);
      value /= 128;
    }
    b.write(value);
  }

  private static void put32(byte[] p, int o, int v) {
    p[o] = (byte) (v >>> 24);
    p[o + 1] = (byte) (v >>> 16);
    p[o + 2] = (byte) (v >>> 8);
    p[o + 3] = (byte) v;
  }
}
