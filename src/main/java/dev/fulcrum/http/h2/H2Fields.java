package dev.fulcrum.http.h2;

import java.util.Locale;

/**
 * The field rules of RFC 9113 §8.2 that make a message malformed: names that are not lowercase tokens, values with
 * CR, LF or NUL or surrounding whitespace, connection-specific fields, {@code TE} other than {@code trailers}.
 * A malformed request is refused, never forwarded: on an HTTP/1.1 backend a CR/LF would start a new header line and
 * a second framing field would smuggle a request.
 */
final class H2Fields {
  private H2Fields() {}

  /** What is wrong with this field, or null. */
  static String problem(String name, String value) {
    if (name.isEmpty()) return "an empty field name";
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (c >= 'A' && c <= 'Z') return "the field name '" + printable(name) + "' is not lowercase";
      if (!token(c)) return "the field name '" + printable(name) + "' has a character not allowed in names";
    }
    int n = value.length();
    for (int i = 0; i < n; i++) {
      char c = value.charAt(i);
      if (c == '\r' || c == '\n' || c == 0) return "the value of '" + name + "' has a CR, LF or NUL";
    }
    if (n > 0 && (blank(value.charAt(0)) || blank(value.charAt(n - 1)))) {
      return "the value of '" + name + "' begins or ends with whitespace";
    }
    switch (name) {
      case "connection", "proxy-connection", "keep-alive", "transfer-encoding", "upgrade" -> {
        return "the connection-specific field '" + name + "' is not allowed in HTTP/2";
      }
      case "te" -> {
        if (!value.toLowerCase(Locale.ROOT).equals("trailers")) return "TE other than 'trailers'";
      }
      default -> {}
    }
    return null;
  }

  /** The content-length value as a number, or -2 when it is not one. */
  static long contentLength(String value) {
    if (value.isEmpty() || value.length() > 18) return -2;
    long n = 0;
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c < '0' || c > '9') return -2;
      n = n * 10 + (c - '0');
    }
    return n;
  }

  private static boolean blank(char c) {
    return c == ' ' || c == '\t';
  }

  /** RFC 9110 §5.6.2 tchar. */
  private static boolean token(char c) {
    if (c >= 'a' && c <= 'z' || c >= '0' && c <= '9') return true;
    return "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
  }

  static String printable(String s) {
    StringBuilder b = new StringBuilder(Math.min(s.length(), 64));
    for (int i = 0; i < s.length() && i < 64; i++) {
      char c = s.charAt(i);
      b.append(c < 0x20 || c > 0x7e ? '?' : c);
    }
    return b.toString();
  }
}
