package dev.fulcrum.observe;

/** Pieces of the text access-log line: missing values are "-", and nothing a client sent can break the line apart. */
final class LogLines {
  private LogLines() {}

  static StringBuilder field(StringBuilder line, String value) {
    return value == null || value.isEmpty() ? line.append('-') : line.append(value);
  }

  static void client(StringBuilder line, String ip, int port) {
    if (ip == null) {
      line.append('-');
    } else if (ip.indexOf(':') >= 0) {
      line.append('[').append(ip).append("]:").append(port);
    } else {
      line.append(ip).append(':').append(port);
    }
  }

  /** A client-supplied value outside quotes (a request id): spaces are escaped too, so it stays one field. */
  static StringBuilder token(StringBuilder line, String value) {
    if (value == null || value.isEmpty()) return line.append('-');
    int start = line.length();
    quoted(line, value);
    for (int i = start; i < line.length(); i++) {
      if (line.charAt(i) == ' ') line.replace(i, i + 1, "\\x20");
    }
    return line;
  }

  /** A client-supplied value inside quotes: quotes, backslashes and control characters are escaped. */
  static StringBuilder quoted(StringBuilder line, String value) {
    if (value == null) return line.append('-');
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c == '"' || c == '\\') {
        line.append('\\').append(c);
      } else if (c < 0x20 || c == 0x7f) {
        line.append(String.format("\\x%02x", (int) c));
      } else {
        line.append(c);
      }
    }
    return line;
  }
}
