package dev.fulcrum.observe;

import java.util.Arrays;

/**
 * The bytes of access-log lines on their way to the file, written straight as UTF-8 (no StringBuilder, no String per
 * line): the access log's writer thread formats every line of a batch into one of these. Missing values are "-", and
 * nothing a client sent can break a line apart or add one.
 */
final class LineBuffer {
  private static final byte[] HEX = "0123456789abcdef".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

  byte[] bytes;
  int length;

  LineBuffer(int capacity) {
    bytes = new byte[capacity];
  }

  LineBuffer ascii(char c) {
    ensure(1);
    bytes[length++] = (byte) c;
    return this;
  }

  /** A string of the proxy's own (a name, an address), as UTF-8. */
  LineBuffer text(String s) {
    int n = s.length();
    ensure(n);
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      if (c >= 0x80) return utf8(s, i);
      bytes[length++] = (byte) c;
    }
    return this;
  }

  /** The value, or "-" when there is none. */
  LineBuffer field(String s) {
    return s == null || s.isEmpty() ? ascii('-') : text(s);
  }

  LineBuffer number(long n) {
    if (n < 0) {
      if (n == Long.MIN_VALUE) return text(Long.toString(n));
      ascii('-');
      n = -n;
    }
    ensure(20);
    int digits = 1;
    for (long rest = n / 10; rest != 0; rest /= 10) digits++;
    int at = length + digits;
    length = at;
    do {
      bytes[--at] = (byte) ('0' + (int) (n % 10));
      n /= 10;
    } while (n != 0);
    return this;
  }

  /** A number of exactly {@code width} digits, with leading zeros. */
  LineBuffer digits(int n, int width) {
    ensure(width);
    for (int i = width - 1; i >= 0; i--) {
      bytes[length + i] = (byte) ('0' + n % 10);
      n /= 10;
    }
    length += width;
    return this;
  }

  /** A client's address and port: {@code 192.0.2.1:4242}, {@code [2001:db8::1]:4242}, or "-". */
  LineBuffer client(String ip, int port) {
    if (ip == null) return ascii('-');
    if (ip.indexOf(':') >= 0) return ascii('[').text(ip).ascii(']').ascii(':').number(port);
    return text(ip).ascii(':').number(port);
  }

  /** host:port, [v6]:port, as {@code HostPort} prints it, without building a string. */
  LineBuffer hostPort(dev.fulcrum.config.HostPort address) {
    if (address == null) return ascii('-');
    String host = address.host();
    if (host.indexOf(':') >= 0) return ascii('[').text(host).ascii(']').ascii(':').number(address.port());
    return text(host).ascii(':').number(address.port());
  }

  /** A client-supplied value inside quotes: quotes, backslashes and control characters are escaped. */
  LineBuffer quoted(String value) {
    return escaped(value, false, Integer.MAX_VALUE);
  }

  /** As {@link #quoted(String)}, of the first {@code max} characters (a path cut to the configured length). */
  LineBuffer quoted(String value, int max) {
    return escaped(value, false, max);
  }

  /** A client-supplied value outside quotes (a request id): spaces are escaped too, so it stays one field. */
  LineBuffer token(String value) {
    return value == null || value.isEmpty() ? ascii('-') : escaped(value, true, Integer.MAX_VALUE);
  }

  private LineBuffer escaped(String value, boolean space, int max) {
    if (value == null) return ascii('-');
    // a surrogate pair the limit cuts in two leaves a lone surrogate, written as "?" (as String.substring would)
    int n = Math.min(value.length(), max);
    for (int i = 0; i < n; i++) {
      char c = value.charAt(i);
      if (c == '"' || c == '\\') {
        ascii('\\').ascii(c);
      } else if (c < 0x20 || c == 0x7f || (space && c == ' ')) {
        ensure(4);
        bytes[length++] = '\\';
        bytes[length++] = 'x';
        bytes[length++] = HEX[c >> 4];
        bytes[length++] = HEX[c & 0xf];
      } else if (c < 0x80) {
        ascii(c);
      } else if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(value.charAt(i + 1))) {
        codePoint(Character.toCodePoint(c, value.charAt(++i)));
      } else {
        codePoint(Character.isSurrogate(c) ? '?' : c); // a lone surrogate has no UTF-8 form
      }
    }
    return this;
  }

  private LineBuffer utf8(String s, int from) {
    int n = s.length();
    for (int i = from; i < n; i++) {
      char c = s.charAt(i);
      if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
        codePoint(Character.toCodePoint(c, s.charAt(++i)));
      } else {
        codePoint(Character.isSurrogate(c) ? '?' : c);
      }
    }
    return this;
  }

  private void codePoint(int cp) {
    ensure(4);
    byte[] b = bytes;
    if (cp < 0x80) {
      b[length++] = (byte) cp;
    } else if (cp < 0x800) {
      b[length++] = (byte) (0xc0 | (cp >> 6));
      b[length++] = (byte) (0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      b[length++] = (byte) (0xe0 | (cp >> 12));
      b[length++] = (byte) (0x80 | ((cp >> 6) & 0x3f));
      b[length++] = (byte) (0x80 | (cp & 0x3f));
    } else {
      b[length++] = (byte) (0xf0 | (cp >> 18));
      b[length++] = (byte) (0x80 | ((cp >> 12) & 0x3f));
      b[length++] = (byte) (0x80 | ((cp >> 6) & 0x3f));
      b[length++] = (byte) (0x80 | (cp & 0x3f));
    }
  }

  LineBuffer bytes(byte[] more) {
    return bytes(more, more.length);
  }

  LineBuffer bytes(byte[] more, int n) {
    ensure(n);
    System.arraycopy(more, 0, bytes, length, n);
    length += n;
    return this;
  }

  private void ensure(int more) {
    if (length + more > bytes.length) bytes = Arrays.copyOf(bytes, Math.max(length + more, bytes.length * 2));
  }
}
