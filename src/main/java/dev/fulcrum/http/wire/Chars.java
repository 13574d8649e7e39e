package dev.fulcrum.http.wire;

/** Character classes of RFC 9110 that the head parser and the chunked scanner share. */
final class Chars {
  /** RFC 9110 §5.6.2 tchar: what field names, methods and transfer codings are made of. */
  static final boolean[] TOKEN = new boolean[256];

  /**
   * RFC 3986 §3.2.2-3.2.3: what a Host value (a reg-name, IPv4 or a bracketed IP literal, and a port) is made of:
   * unreserved, pct-encoded, sub-delims, ':', '[' and ']'.
   */
  static final boolean[] HOST = new boolean[256];

  static {
    for (int c = '0'; c <= '9'; c++) TOKEN[c] = HOST[c] = true;
    for (int c = 'A'; c <= 'Z'; c++) TOKEN[c] = HOST[c] = true;
    for (int c = 'a'; c <= 'z'; c++) TOKEN[c] = HOST[c] = true;
    for (char c : "!#$%&'*+-.^_`|~".toCharArray()) TOKEN[c] = true;
    for (char c : "-._~%!$&'()*+,;=:[]".toCharArray()) HOST[c] = true;
  }

  private Chars() {}

  /** RFC 9110 §5.5: field values allow HTAB and obs-text (0x80-0xFF) but no other control character. */
  static boolean isCtl(byte c) {
    return (c >= 0 && c < ' ' && c != '\t') || c == 0x7F;
  }
}
