package dev.fulcrum.http.proxy;

import dev.fulcrum.config.HttpRouteSettings.Header;
import dev.fulcrum.config.HttpRouteSettings.HeaderRules;
import dev.fulcrum.http.wire.HeaderSink;
import dev.fulcrum.http.wire.HeaderView;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Builds the headers a backend and a client see, for both engines: hop-by-hop headers dropped (RFC 9110 §7.6.1, plus
 * the names the Connection header lists), the forwarding headers added, then the route's rules. Names are compared
 * without lower-casing them: this runs for every field of every request.
 */
public final class HeaderRewriter {
  public static final String REQUEST_ID = "X-Request-Id";
  public static final String CLIENT_CERT_SUBJECT = "X-Client-Cert-Subject";
  private static final String VIA = "1.1 fulcrum";

  /** What a field name means to the rewriter. */
  private enum Role { HOP_BY_HOP, FORWARDED_FOR, VIA, REPLACED, REQUEST_ID, OTHER }

  private HeaderRewriter() {}

  /** The client's X-Request-Id, or a new random one. */
  public static String requestId(HeaderView headers) {
    String id = headers.get(REQUEST_ID);
    if (id != null && !id.isEmpty()) return id;
    ThreadLocalRandom random = ThreadLocalRandom.current();
    return hex(random.nextLong(), random.nextLong());
  }

  /** The request's headers as the backend sees them. */
  static void forRequest(HeaderView in, Forwarded forwarded, Rules rules, HeaderSink out) {
    String clientIp = forwarded.clientIp();
    String host = forwarded.host();
    String connectionTokens = connectionTokens(in);
    String forwardedFor = null;
    String via = null;
    boolean hasRequestId = false;
    for (int i = 0; i < in.size(); i++) {
      String name = in.name(i);
      switch (role(name)) {
        case HOP_BY_HOP, REPLACED -> {}
        case FORWARDED_FOR -> forwardedFor = forwardedFor == null ? in.value(i) : forwardedFor + ", " + in.value(i);
        case VIA -> via = via == null ? in.value(i) : via + ", " + in.value(i);
        case REQUEST_ID -> {
          hasRequestId = true;
          keep(in, i, connectionTokens, rules, out);
        }
        case OTHER -> keep(in, i, connectionTokens, rules, out);
      }
    }
    add("X-Forwarded-For", forwardedFor == null ? clientIp : forwardedFor + ", " + clientIp, rules, out);
    add("X-Forwarded-Proto", forwarded.tls() ? "https" : "http", rules, out);
    if (host != null) add("X-Forwarded-Host", host, rules, out);
    add("Via", via == null ? VIA : via + ", " + VIA, rules, out);
    if (!hasRequestId) add(REQUEST_ID, forwarded.requestId(), rules, out);
    if (forwarded.clientCertSubject() != null) add(CLIENT_CERT_SUBJECT, forwarded.clientCertSubject(), rules, out);
    rules.addTo(out);
  }

  /** The response's headers as the client sees them, with the request id. */
  static void forResponse(HeaderView in, String requestId, Rules rules, HeaderSink out) {
    String connectionTokens = connectionTokens(in);
    for (int i = 0; i < in.size(); i++) {
      Role role = role(in.name(i));
      if (role != Role.HOP_BY_HOP && role != Role.REQUEST_ID) keep(in, i, connectionTokens, rules, out);
    }
    add(REQUEST_ID, requestId, rules, out);
    rules.addTo(out);
  }

  private static void keep(HeaderView in, int i, String connectionTokens, Rules rules, HeaderSink out) {
    String name = in.name(i);
    if (connectionTokens != null && listed(connectionTokens, name)) return;
    if (!rules.removes(name)) out.keep(in, i);
  }

  private static void add(String name, String value, Rules rules, HeaderSink out) {
    if (!rules.removes(name)) out.add(name, value);
  }

  /**
   * Expect: 100-continue is answered to the client by the proxy; X-Forwarded-Proto and -Host and the client
   * certificate's subject are the proxy's to say (a client could otherwise claim https, or a verified identity).
   */
  private static Role role(String name) {
    switch (name.length()) {
      case 2:
        return is(name, "te") ? Role.HOP_BY_HOP : Role.OTHER;
      case 3:
        return is(name, "via") ? Role.VIA : Role.OTHER;
      case 6:
        if (is(name, "expect")) return Role.REPLACED;
        break;
      case 7:
        if (is(name, "trailer") || is(name, "upgrade")) return Role.HOP_BY_HOP;
        break;
      case 10:
        if (is(name, "connection") || is(name, "keep-alive")) return Role.HOP_BY_HOP;
        break;
      case 12:
        if (is(name, "x-request-id")) return Role.REQUEST_ID;
        break;
      case 15:
        if (is(name, "x-forwarded-for")) return Role.FORWARDED_FOR;
        break;
      case 16:
        if (is(name, "x-forwarded-host")) return Role.REPLACED;
        break;
      case 17:
        if (is(name, "transfer-encoding")) return Role.HOP_BY_HOP;
        if (is(name, "x-forwarded-proto")) return Role.REPLACED;
        break;
      case 21:
        if (is(name, CLIENT_CERT_SUBJECT)) return Role.REPLACED;
        break;
      default:
        break;
    }
    return name.regionMatches(true, 0, "proxy-", 0, 6) ? Role.HOP_BY_HOP : Role.OTHER;
  }

  private static boolean is(String name, String lower) {
    return name.equalsIgnoreCase(lower);
  }

  /** The value of the Connection header(s), or null: most messages have none, so this stays cheap. */
  private static String connectionTokens(HeaderView headers) {
    String tokens = null;
    for (int i = 0; i < headers.size(); i++) {
      if (headers.name(i).length() == 10 && is(headers.name(i), "connection")) {
        tokens = tokens == null ? headers.value(i) : tokens + "," + headers.value(i);
      }
    }
    return tokens;
  }

  /**
   * Whether the comma-separated tokens name the field. Walked in place: a backend's "Connection: keep-alive" comes with
   * every response, and this runs for each of its fields.
   */
  static boolean listed(String tokens, String name) {
    int n = tokens.length();
    int start = 0;
    while (start <= n) {
      int end = tokens.indexOf(',', start);
      if (end < 0) end = n;
      int from = start;
      int to = end;
      while (from < to && isSpace(tokens.charAt(from))) from++;
      while (to > from && isSpace(tokens.charAt(to - 1))) to--;
      if (to - from == name.length() && tokens.regionMatches(true, from, name, 0, to - from)) return true;
      start = end + 1;
    }
    return false;
  }

  private static boolean isSpace(char c) {
    return c <= ' ';
  }

  private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

  /** 32 hex digits of two random longs, made as one string. */
  private static String hex(long high, long low) {
    byte[] digits = new byte[32];
    for (int i = 15; i >= 0; i--) {
      digits[i] = HEX[(int) (high & 0xf)];
      digits[16 + i] = HEX[(int) (low & 0xf)];
      high >>>= 4;
      low >>>= 4;
    }
    return new String(digits, StandardCharsets.US_ASCII);
  }

  /** A route's header rules: remove, set (replaces), add (appends). */
  static final class Rules {
    static final Rules NONE = new Rules(HeaderRules.NONE);

    /** Names removed: those removed and those set. */
    private final String[] removed;
    private final List<Header> added;

    Rules(HeaderRules rules) {
      List<String> names = new ArrayList<>(rules.remove());
      rules.set().forEach(h -> names.add(h.name()));
      this.removed = names.toArray(String[]::new);
      List<Header> all = new ArrayList<>(rules.set());
      all.addAll(rules.add());
      this.added = List.copyOf(all);
    }

    boolean removes(String name) {
      for (String n : removed) {
        if (n.equalsIgnoreCase(name)) return true;
      }
      return false;
    }

    void addTo(HeaderSink out) {
      for (Header h : added) out.add(h.name(), h.value());
    }
  }
}
