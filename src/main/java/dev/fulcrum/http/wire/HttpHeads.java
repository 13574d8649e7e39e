package dev.fulcrum.http.wire;

import static java.nio.charset.StandardCharsets.ISO_8859_1;

import dev.fulcrum.config.HttpListenerSettings.HttpLimits;
import java.nio.ByteBuffer;
import dev.fulcrum.http.wire.WireError.Kind;
import java.util.Arrays;

/**
 * Finds and parses HTTP/1.1 message heads (RFC 9112) in a connection's buffer, read with absolute indices: the
 * buffer's position and limit are left alone. Strict wherever leniency could let Fulcrum and a backend disagree about
 * where a message ends (request smuggling); lenient only where RFC 9112 asks recipients to be: bare LF line ends and
 * empty lines before a request line. Heads are forwarded re-serialized from the parsed fields, so that leniency never
 * reaches a backend.
 */
public final class HttpHeads {
  /** Backends are trusted more than clients, but a broken one must not make Fulcrum buffer without bound. */
  private static final int RESPONSE_MAX_FIELDS = 1000;
  private static final int RESPONSE_MAX_VALUE = 64 * 1024;

  private static final byte CR = '\r';
  private static final byte LF = '\n';
  private static final byte SP = ' ';
  private static final byte HTAB = '\t';

  private static final boolean[] TOKEN = Chars.TOKEN;
  private static final boolean[] HOST = Chars.HOST;

  // Most heads name only these (and most wrk targets are "/"): returning constants saves two allocations a string.
  private static final String[][] METHODS = byLength("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH");
  private static final String[][] NAMES = byLength(
      "Host", "host", "User-Agent", "user-agent", "Accept", "accept", "Accept-Encoding", "accept-encoding",
      "Accept-Language", "accept-language", "Connection", "connection", "Content-Length", "content-length",
      "Content-Type", "content-type", "Transfer-Encoding", "transfer-encoding", "Cookie", "cookie", "Set-Cookie",
      "set-cookie", "Authorization", "authorization", "Cache-Control", "cache-control", "Date", "date", "Server",
      "server", "Keep-Alive", "keep-alive", "Upgrade", "upgrade", "Expect", "expect", "Origin", "origin", "Referer",
      "referer", "Location", "location", "ETag", "etag", "Last-Modified", "last-modified", "Vary", "vary",
      "Content-Encoding", "content-encoding", "X-Forwarded-For", "x-forwarded-for", "X-Forwarded-Proto",
      "x-forwarded-proto", "X-Request-Id", "x-request-id");

  private static final ThreadLocal<Parser> PARSERS = ThreadLocal.withInitial(Parser::new);

  private HttpHeads() {}

  /** Whether a Host value (or HTTP/2's :authority) is a host and port: {@link #hostProblem(String)} finds nothing. */
  public static boolean validHost(String value) {
    return hostProblem(value) == null;
  }

  /**
   * What is wrong with a Host value (or HTTP/2's :authority) as a host and port, or null: the rule the head parser holds
   * Host to. A space, '@', '/', '\\' or control character would let the backend or a route read another host than the
   * one the proxy routed by (RFC 9110 §7.2, RFC 3986 §3.2.2); a port is digits in 0-65535 (RFC 3986 §3.2.3, empty
   * allowed: {@code port = *DIGIT}), and more than one ':' is an IPv6 address, which goes in brackets.
   */
  public static String hostProblem(String value) {
    byte[] bytes = new byte[value.length()];
    for (int i = 0; i < bytes.length; i++) {
      char c = value.charAt(i);
      if (c > 0xFF) return "invalid character";
      bytes[i] = (byte) c;
    }
    return hostProblem(bytes, 0, bytes.length);
  }

  /** {@link #hostProblem(String)} of b[from, to), Latin-1. */
  static String hostProblem(byte[] b, int from, int to) {
    for (int i = from; i < to; i++) if (!HOST[b[i] & 0xFF]) return "invalid character";
    int port;
    if (from < to && b[from] == '[') {
      int close = from + 1;
      while (close < to && b[close] != ']') close++;
      if (close == to) return "unclosed '[' of an IP literal";
      for (int i = from + 1; i < close; i++) if (b[i] == '[') return "invalid character";
      if (close + 1 < to && b[close + 1] != ':') return "invalid character after the IP literal";
      port = close + 1;
    } else {
      port = to;
      for (int i = from; i < to; i++) {
        if (b[i] == '[' || b[i] == ']') return "invalid character";
        if (b[i] == ':' && port == to) port = i;
      }
    }
    if (port == to) return null;
    int value = 0;
    for (int i = port + 1; i < to; i++) {
      if (b[i] == ':') return "more than one ':' (an IPv6 address goes in brackets)";
      if (b[i] < '0' || b[i] > '9') return "invalid port";
      value = value * 10 + (b[i] - '0');
      if (value > 65535) return "port out of range 0-65535";
    }
    return null;
  }

  /**
   * The index just past the empty line that ends the head in buf[from, limit), or -1 if that line has not arrived.
   * Line ends are CRLF or bare LF. The end is the first empty line that follows a non-empty one, so empty lines before
   * a request line stay inside the head (the parser skips them). Every end pattern lies within 5 bytes (a byte, CRLF,
   * CRLF), so a caller that got -1 resumes, when more bytes arrive, at {@code max(headStart, previousLimit - 4)}.
   */
  public static int headEnd(ByteBuffer buf, int from, int limit) {
    for (int i = from + 1; i < limit; i++) {
      if (buf.get(i) != LF) continue;
      int last = buf.get(i - 1) == CR ? i - 2 : i - 1;
      if (last < from) continue;
      byte c = buf.get(last);
      if (c == CR || c == LF) continue;
      int j = i + 1;
      if (j < limit && buf.get(j) == LF) return j + 1;
      if (j + 1 < limit && buf.get(j) == CR && buf.get(j + 1) == LF) return j + 2;
    }
    return -1;
  }

  /**
   * Whether the bytes of a head not complete yet can still begin a request line: a method of token characters up to
   * the first space. A TLS handshake or other binary sent to an HTTP port is thus refused at once, not after the
   * idle timeout.
   */
  public static boolean mayStartRequest(ByteBuffer buf, int from, int limit) {
    int i = from;
    while (i < limit && (buf.get(i) == '\r' || buf.get(i) == '\n')) i++;
    int methodStart = i;
    for (; i < limit; i++) {
      byte c = buf.get(i);
      if (c == ' ') return i > methodStart;
      if (!TOKEN[c & 0xFF] || i - methodStart >= 32) return false;
    }
    return true;
  }

  /** The request head in buf[from, end), end as found by {@link #headEnd}. */
  public static ParsedRequest parseRequest(ByteBuffer buf, int from, int end, HttpLimits limits) {
    try {
      return PARSERS.get().request(buf, from, end, limits);
    } catch (Refused e) {
      return e.error;
    }
  }

  /** A backend's response head in buf[from, end); every problem is {@link WireError.Kind#MALFORMED}. */
  public static ParsedResponse parseResponse(ByteBuffer buf, int from, int end) {
    try {
      return PARSERS.get().response(buf, from, end);
    } catch (Refused e) {
      return e.error;
    }
  }

  /** Unwinds the parser from deep inside a head; what it carries is handed out as a value. */
  private static final class Refused extends Exception {
    final WireError error;

    Refused(WireError error) {
      super(error.problem(), null, false, false);
      this.error = error;
    }
  }

  private static String[][] byLength(String... names) {
    int max = 0;
    for (String name : names) max = Math.max(max, name.length());
    String[][] table = new String[max + 1][0];
    for (String name : names) {
      String[] same = Arrays.copyOf(table[name.length()], table[name.length()].length + 1);
      same[same.length - 1] = name;
      table[name.length()] = same;
    }
    return table;
  }

  /**
   * One per thread: the head is copied once into a scratch array and scanned there, and what its fields say about
   * framing is collected in fields instead of being looked up again by name.
   */
  private static final class Parser {
    private byte[] b = new byte[8192];
    private int n;
    private boolean response;
    private int next;
    private int lineStart;
    private int lineEnd;

    private int hosts;
    private int transferEncodings;
    private int teStart;
    private int teEnd;
    private int contentLengths;
    private long contentLength;
    private boolean connectionClose;
    private boolean connectionKeepAlive;
    private boolean connectionUpgrade;
    private boolean upgradeWebSocket;
    private boolean expectContinue;
    private boolean expectOther;

    RequestHead request(ByteBuffer buf, int from, int end, HttpLimits limits) throws Refused {
      load(buf, from, end, false);
      // RFC 9112 §2.2: clients may send stray CRLFs after a body
      do nextLine(); while (lineStart == lineEnd);
      int s = lineStart;
      int e = lineEnd;

      int i = s;
      while (i < e && TOKEN[b[i] & 0xFF]) i++;
      if (i == s || i == e || b[i] != SP) throw fail(Kind.MALFORMED, "malformed request line");
      String method = intern(s, i, METHODS);

      int targetStart = ++i;
      while (i < e && b[i] > SP && b[i] < 0x7F) i++;
      if (i == targetStart) throw fail(Kind.MALFORMED, "malformed request line");
      if (i < e && b[i] != SP) throw fail(Kind.MALFORMED, "invalid character in request target");
      if (i == e) throw fail(Kind.MALFORMED, "malformed request line");
      if (i - targetStart > limits.maxUriLength()) {
        throw fail(Kind.TARGET_TOO_LONG, "request target longer than " + limits.maxUriLength() + " bytes");
      }
      int targetEnd = i;
      int minor = version(i + 1, e);
      if (method.equals("CONNECT")) throw fail(Kind.NOT_IMPLEMENTED, "CONNECT is not supported");
      if (targetEnd - targetStart == 1 && b[targetStart] == '*' && !method.equals("OPTIONS")) {
        throw fail(Kind.MALFORMED, "the target * is only allowed with OPTIONS");
      }
      String target = targetEnd - targetStart == 1 && b[targetStart] == '/'
          ? "/"
          : new String(b, targetStart, targetEnd - targetStart, ISO_8859_1);

      HeaderFields headers = fields(limits.maxHeaderCount(), limits.maxHeaderValueLength());
      if (hosts > 1) throw fail(Kind.MALFORMED, "more than one Host header");
      if (hosts == 0 && minor == 1) throw fail(Kind.MALFORMED, "missing Host header");
      boolean chunked = false;
      if (transferEncodings > 0) {
        if (contentLengths > 0) {
          throw fail(Kind.MALFORMED, "both Content-Length and Transfer-Encoding: refused (request smuggling)");
        }
        if (minor == 0) throw fail(Kind.MALFORMED, "Transfer-Encoding in an HTTP/1.0 request");
        requireChunkedOnly();
        chunked = true;
      }
      if (expectOther) throw fail(Kind.EXPECTATION_FAILED, "the only supported expectation is Expect: 100-continue");
      normalizeContentLength(headers);
      return new RequestHead(
          method,
          target,
          minor,
          headers,
          contentLengths > 0 ? contentLength : -1,
          chunked,
          keepAlive(minor),
          // RFC 9110 §10.1.1: an HTTP/1.0 client does not wait for 100 Continue
          expectContinue && minor == 1,
          // RFC 9110 §7.8: Upgrade is ignored in HTTP/1.0
          minor == 1 && connectionUpgrade && upgradeWebSocket && method.equals("GET"));
    }

    ResponseHead response(ByteBuffer buf, int from, int end) throws Refused {
      load(buf, from, end, true);
      nextLine();
      int s = lineStart;
      int e = lineEnd;
      if (e - s < 12 || b[s + 8] != SP) throw fail(Kind.MALFORMED, "malformed status line");
      int minor = version(s, s + 8);
      int status = 0;
      for (int i = s + 9; i < s + 12; i++) {
        if (b[i] < '0' || b[i] > '9') throw fail(Kind.MALFORMED, "malformed status line");
        status = status * 10 + b[i] - '0';
      }
      if (status < 100 || status > 599) throw fail(Kind.MALFORMED, "status code " + status + " out of range");
      // a missing reason is tolerated with or without the space before it
      if (e > s + 12 && b[s + 12] != SP) throw fail(Kind.MALFORMED, "malformed status line");
      int reasonStart = Math.min(s + 13, e);
      for (int i = reasonStart; i < e; i++) {
        if (isCtl(b[i])) throw fail(Kind.MALFORMED, "control character in reason phrase");
      }
      String reason = e - reasonStart == 2 && b[reasonStart] == 'O' && b[reasonStart + 1] == 'K'
          ? "OK"
          : new String(b, reasonStart, e - reasonStart, ISO_8859_1);

      HeaderFields headers = fields(RESPONSE_MAX_FIELDS, RESPONSE_MAX_VALUE);
      boolean keepAlive = keepAlive(minor);
      long length = contentLengths > 0 ? contentLength : -1;
      boolean chunked = false;
      if (transferEncodings > 0) {
        if (minor == 0) throw fail(Kind.MALFORMED, "Transfer-Encoding in an HTTP/1.0 response");
        requireChunkedOnly();
        chunked = true;
        if (contentLengths > 0) {
          // RFC 9112 §6.3: Transfer-Encoding wins and Content-Length must not be forwarded; a backend sending both is
          // not trusted with the framing of a next response
          headers.removeAll("Content-Length");
          length = -1;
          keepAlive = false;
        }
      } else {
        normalizeContentLength(headers);
      }
      return new ResponseHead(minor, status, reason, headers, length, chunked, keepAlive);
    }

    private void load(ByteBuffer buf, int from, int end, boolean response) {
      n = end - from;
      if (n > b.length) b = new byte[Math.max(n, 2 * b.length)];
      buf.get(from, b, 0, n);
      this.response = response;
      next = 0;
      hosts = 0;
      transferEncodings = 0;
      contentLengths = 0;
      contentLength = -1;
      connectionClose = false;
      connectionKeepAlive = false;
      connectionUpgrade = false;
      upgradeWebSocket = false;
      expectContinue = false;
      expectOther = false;
    }

    /** Moves to the next line: b[lineStart, lineEnd) without its CRLF or LF. */
    private void nextLine() throws Refused {
      int i = next;
      while (i < n && b[i] != LF) i++;
      if (i == n) throw fail(Kind.MALFORMED, "incomplete message head");
      lineStart = next;
      lineEnd = i > next && b[i - 1] == CR ? i - 1 : i;
      next = i + 1;
    }

    /** The minor version of "HTTP/1.x" in b[s, e). */
    private int version(int s, int e) throws Refused {
      if (e - s != 8
          || b[s] != 'H' || b[s + 1] != 'T' || b[s + 2] != 'T' || b[s + 3] != 'P' || b[s + 4] != '/'
          || !isDigit(b[s + 5]) || b[s + 6] != '.' || !isDigit(b[s + 7])) {
        throw fail(Kind.MALFORMED, response ? "malformed status line" : "malformed request line");
      }
      if (b[s + 5] != '1' || b[s + 7] > '1') throw fail(Kind.VERSION_NOT_SUPPORTED, "HTTP version not supported");
      return b[s + 7] - '0';
    }

    private HeaderFields fields(int maxCount, int maxValueLength) throws Refused {
      HeaderFields fields = new HeaderFields();
      while (true) {
        nextLine();
        int s = lineStart;
        int e = lineEnd;
        if (s == e) break;
        if (b[s] == SP || b[s] == HTAB) {
          throw fail(Kind.MALFORMED, "header line starts with whitespace (obsolete line folding is refused)");
        }
        int colon = s;
        while (colon < e && TOKEN[b[colon] & 0xFF]) colon++;
        if (colon == e) throw fail(Kind.MALFORMED, "header line without a colon");
        if (b[colon] != ':') {
          throw fail(Kind.MALFORMED, b[colon] == SP || b[colon] == HTAB
              ? "whitespace in or after a header field name"
              : "invalid character in header field name");
        }
        if (colon == s) throw fail(Kind.MALFORMED, "empty header field name");
        if (fields.size() == maxCount) throw fail(Kind.FIELDS_TOO_LARGE, "more than " + maxCount + " header fields");
        int vs = colon + 1;
        while (vs < e && (b[vs] == SP || b[vs] == HTAB)) vs++;
        for (int i = vs; i < e; i++) {
          if (isCtl(b[i])) throw fail(Kind.MALFORMED, "control character in header field value");
        }
        int ve = e;
        while (ve > vs && (b[ve - 1] == SP || b[ve - 1] == HTAB)) ve--;
        if (ve - vs > maxValueLength) {
          throw fail(Kind.FIELDS_TOO_LARGE, "header field value longer than " + maxValueLength + " bytes");
        }
        note(s, colon, vs, ve);
        fields.add(intern(s, colon, NAMES), new String(b, vs, ve - vs, ISO_8859_1));
      }
      // headEnd ends a head at its first empty line after a non-empty one; anything else is a caller passing a bad end
      if (next != n) throw fail(Kind.MALFORMED, "malformed message head");
      return fields;
    }

    /** Collects what the field named b[ns, ne) with value b[vs, ve) says about framing and the connection. */
    private void note(int ns, int ne, int vs, int ve) throws Refused {
      switch (ne - ns) {
        case 4 -> {
          if (named(ns, "host")) {
            hosts++;
            String problem = response ? null : hostProblem(b, vs, ve);
            if (problem != null) throw fail(Kind.MALFORMED, problem + " in the Host header");
          }
        }
        case 6 -> {
          if (named(ns, "expect")) {
            if (equalsIgnoreCase(vs, ve, "100-continue")) expectContinue = true;
            else expectOther = true;
          }
        }
        case 7 -> {
          if (named(ns, "upgrade")) upgradeWebSocket |= lists(vs, ve, "websocket");
        }
        case 10 -> {
          if (named(ns, "connection")) {
            connectionClose |= lists(vs, ve, "close");
            connectionKeepAlive |= lists(vs, ve, "keep-alive");
            connectionUpgrade |= lists(vs, ve, "upgrade");
          }
        }
        case 14 -> {
          if (named(ns, "content-length")) contentLength(vs, ve);
          else if (!response && underscored(ns, "content-length")) throw lookalike("Content-Length");
        }
        case 17 -> {
          if (named(ns, "transfer-encoding")) {
            transferEncodings++;
            teStart = vs;
            teEnd = ve;
          } else if (!response && underscored(ns, "transfer-encoding")) {
            throw lookalike("Transfer-Encoding");
          }
        }
        default -> {}
      }
    }

    /** RFC 9110 §8.6: a list of decimal numbers, all the same. */
    private void contentLength(int vs, int ve) throws Refused {
      int i = vs;
      while (true) {
        while (i < ve && (b[i] == SP || b[i] == HTAB)) i++;
        int digits = i;
        long value = 0;
        while (i < ve && isDigit(b[i])) {
          int d = b[i++] - '0';
          if (value > (Long.MAX_VALUE - d) / 10) throw fail(Kind.MALFORMED, "Content-Length too large");
          value = value * 10 + d;
        }
        if (i == digits) throw fail(Kind.MALFORMED, "Content-Length is not a number");
        while (i < ve && (b[i] == SP || b[i] == HTAB)) i++;
        if (contentLengths++ > 0 && value != contentLength) throw fail(Kind.MALFORMED, "conflicting Content-Length values");
        contentLength = value;
        if (i == ve) return;
        if (b[i++] != ',') throw fail(Kind.MALFORMED, "Content-Length is not a number");
      }
    }

    /** A backend might read "5, 5" differently: it gets one plain Content-Length. */
    private void normalizeContentLength(HeaderFields headers) {
      if (contentLengths > 1) {
        headers.removeAll("Content-Length");
        headers.add("Content-Length", Long.toString(contentLength));
      }
    }

    /**
     * Checks the Transfer-Encoding fields say exactly "chunked", the only coding Fulcrum forwards. Empty elements,
     * which RFC 9110 would have recipients skip, are refused: nothing about framing may be vague.
     */
    private void requireChunkedOnly() throws Refused {
      if (transferEncodings > 1) throw fail(Kind.MALFORMED, "more than one Transfer-Encoding field");
      boolean chunked = false;
      boolean other = false;
      int i = teStart;
      while (i <= teEnd) {
        int s = i;
        while (i < teEnd && b[i] != ',') i++;
        int e = i++;
        while (s < e && (b[s] == SP || b[s] == HTAB)) s++;
        while (e > s && (b[e - 1] == SP || b[e - 1] == HTAB)) e--;
        if (s == e) throw fail(Kind.MALFORMED, "empty Transfer-Encoding");
        for (int k = s; k < e; k++) {
          if (!TOKEN[b[k] & 0xFF]) throw fail(Kind.MALFORMED, "malformed Transfer-Encoding");
        }
        if (chunked) throw fail(Kind.MALFORMED, "chunked must be the last transfer coding, and only once");
        if (equalsIgnoreCase(s, e, "chunked")) chunked = true;
        else other = true;
      }
      if (other) throw fail(Kind.NOT_IMPLEMENTED, "only the chunked Transfer-Encoding is supported");
    }

    private boolean keepAlive(int minor) {
      return !connectionClose && (minor == 1 || connectionKeepAlive);
    }

    /** Whether the comma-separated list b[s, e) has the element token, ignoring case and surrounding whitespace. */
    private boolean lists(int s, int e, String token) {
      int i = s;
      while (i < e) {
        int es = i;
        while (i < e && b[i] != ',') i++;
        int ee = i++;
        while (es < ee && (b[es] == SP || b[es] == HTAB)) es++;
        while (ee > es && (b[ee - 1] == SP || b[ee - 1] == HTAB)) ee--;
        if (equalsIgnoreCase(es, ee, token)) return true;
      }
      return false;
    }

    /** Whether b[s, s + lower.length()) is lower, which is lower case, ignoring ASCII case. */
    private boolean named(int s, String lower) {
      for (int i = 0; i < lower.length(); i++) {
        int c = b[s + i];
        if (c >= 'A' && c <= 'Z') c += 'a' - 'A';
        if (c != lower.charAt(i)) return false;
      }
      return true;
    }

    /**
     * Whether b[s, s + lower.length()) is lower with some '-' sent as '_'. Servers behind CGI-style interfaces see both
     * as the same variable, so such a name could frame the body for a backend while Fulcrum reads it as another field.
     */
    private boolean underscored(int s, String lower) {
      for (int i = 0; i < lower.length(); i++) {
        int c = b[s + i];
        if (c >= 'A' && c <= 'Z') c += 'a' - 'A';
        if (c != lower.charAt(i) && !(c == '_' && lower.charAt(i) == '-')) return false;
      }
      return true;
    }

    private Refused lookalike(String name) {
      return fail(Kind.MALFORMED, "a header field named like " + name + " with '_' for '-': refused (request smuggling)");
    }

    private boolean equalsIgnoreCase(int s, int e, String lower) {
      return e - s == lower.length() && named(s, lower);
    }

    private String intern(int s, int e, String[][] known) {
      int length = e - s;
      if (length < known.length) {
        candidates:
        for (String name : known[length]) {
          for (int i = 0; i < length; i++) {
            if (b[s + i] != name.charAt(i)) continue candidates;
          }
          return name;
        }
      }
      return new String(b, s, length, ISO_8859_1);
    }

    private Refused fail(Kind kind, String problem) {
      return new Refused(new WireError(response ? Kind.MALFORMED : kind, problem));
    }
  }

  private static boolean isDigit(byte c) {
    return c >= '0' && c <= '9';
  }

  private static boolean isCtl(byte c) {
    return Chars.isCtl(c);
  }
}
