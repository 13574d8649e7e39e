package dev.fulcrum.http;

import dev.fulcrum.config.HttpRouteSettings.Header;
import dev.fulcrum.config.HttpRouteSettings.HeaderRules;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;

/**
 * Builds the headers a backend and a client see: hop-by-hop headers dropped (RFC 9110 §7.6.1, plus the names the
 * Connection header lists), the forwarding headers added, then the route's rules.
 */
final class HeaderRewriter {
  static final String REQUEST_ID = "X-Request-Id";
  private static final String VIA = "1.1 fulcrum";

  private HeaderRewriter() {}

  /** The client's X-Request-Id, or a new random one. */
  static String requestId(HttpRequest request) {
    for (HttpHeader h : request.getHeaders()) {
      if (h.is("x-request-id") && !h.value().isEmpty()) return h.value();
    }
    return newRequestId();
  }

  private static String newRequestId() {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    return hex(random.nextLong()) + hex(random.nextLong());
  }

  static List<HttpHeader> forRequest(
      HttpRequest request, String clientIp, String requestId, String host, Rules rules) {
    String connectionTokens = connectionTokens(request.getHeaders());
    List<HttpHeader> out = new ArrayList<>(16);
    String forwardedFor = null;
    String via = null;
    boolean hasRequestId = false;
    for (HttpHeader h : request.getHeaders()) {
      String name = h.lowercaseName();
      if (isHopByHop(name, connectionTokens)) continue;
      switch (name) {
        case "x-forwarded-for" -> forwardedFor = forwardedFor == null ? h.value() : forwardedFor + ", " + h.value();
        case "via" -> via = via == null ? h.value() : via + ", " + h.value();
        // Expect: 100-continue was answered to the client by the server side already
        case "x-forwarded-proto", "x-forwarded-host", "timeout-access", "expect" -> {}
        case "x-request-id" -> {
          hasRequestId = true;
          out.add(h);
        }
        default -> out.add(h);
      }
    }
    out.add(RawHeader.create("X-Forwarded-For", forwardedFor == null ? clientIp : forwardedFor + ", " + clientIp));
    out.add(RawHeader.create("X-Forwarded-Proto", "http"));
    if (host != null) out.add(RawHeader.create("X-Forwarded-Host", host));
    out.add(RawHeader.create("Via", via == null ? VIA : via + ", " + VIA));
    if (!hasRequestId) out.add(RawHeader.create(REQUEST_ID, requestId));
    return rules.apply(out);
  }

  static List<HttpHeader> forResponse(HttpResponse response, String requestId, Rules rules) {
    String connectionTokens = connectionTokens(response.getHeaders());
    List<HttpHeader> out = new ArrayList<>(16);
    for (HttpHeader h : response.getHeaders()) {
      String name = h.lowercaseName();
      if (isHopByHop(name, connectionTokens) || name.equals("x-request-id")) continue;
      out.add(h);
    }
    out.add(RawHeader.create(REQUEST_ID, requestId));
    return rules.apply(out);
  }

  /** The client's X-Request-Id, or a new random one. */
  static String requestId(HeaderFields headers) {
    String id = headers.get("x-request-id");
    return id != null && !id.isEmpty() ? id : newRequestId();
  }

  /** As {@link #forRequest(HttpRequest, String, String, String, Rules)}, for the nio engine's raw header fields. */
  static HeaderFields forRequest(HeaderFields in, String clientIp, String requestId, String host, Rules rules) {
    String connectionTokens = connectionTokens(in);
    HeaderFields out = new HeaderFields(in.size() + 6);
    String forwardedFor = null;
    String via = null;
    boolean hasRequestId = false;
    for (int i = 0; i < in.size(); i++) {
      String name = in.name(i).toLowerCase(Locale.ROOT);
      if (isHopByHop(name, connectionTokens)) continue;
      String value = in.value(i);
      switch (name) {
        case "x-forwarded-for" -> forwardedFor = forwardedFor == null ? value : forwardedFor + ", " + value;
        case "via" -> via = via == null ? value : via + ", " + value;
        // Expect: 100-continue is answered to the client by the proxy
        case "x-forwarded-proto", "x-forwarded-host", "expect" -> {}
        case "x-request-id" -> {
          hasRequestId = true;
          out.add(in.name(i), value);
        }
        default -> out.add(in.name(i), value);
      }
    }
    out.add("X-Forwarded-For", forwardedFor == null ? clientIp : forwardedFor + ", " + clientIp);
    out.add("X-Forwarded-Proto", "http");
    if (host != null) out.add("X-Forwarded-Host", host);
    out.add("Via", via == null ? VIA : via + ", " + VIA);
    if (!hasRequestId) out.add(REQUEST_ID, requestId);
    return rules.apply(out);
  }

  /** As {@link #forResponse(HttpResponse, String, Rules)}, for the nio engine's raw header fields. */
  static HeaderFields forResponse(HeaderFields in, String requestId, Rules rules) {
    String connectionTokens = connectionTokens(in);
    HeaderFields out = new HeaderFields(in.size() + 4);
    for (int i = 0; i < in.size(); i++) {
      String name = in.name(i).toLowerCase(Locale.ROOT);
      if (isHopByHop(name, connectionTokens) || name.equals("x-request-id")) continue;
      out.add(in.name(i), in.value(i));
    }
    out.add(REQUEST_ID, requestId);
    return rules.apply(out);
  }

  private static String connectionTokens(HeaderFields headers) {
    String tokens = null;
    for (int i = 0; i < headers.size(); i++) {
      if (headers.name(i).equalsIgnoreCase("connection")) {
        String v = headers.value(i).toLowerCase(Locale.ROOT);
        tokens = tokens == null ? v : tokens + "," + v;
      }
    }
    return tokens;
  }

  static boolean isHopByHop(String lowercaseName, String connectionTokens) {
    switch (lowercaseName) {
      case "connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade" -> {
        return true;
      }
      default -> {
        if (lowercaseName.startsWith("proxy-")) return true;
        return connectionTokens != null && listed(connectionTokens, lowercaseName);
      }
    }
  }

  /** The lower-cased value of the Connection header(s), or null: most requests have none, so this stays cheap. */
  private static String connectionTokens(Iterable<HttpHeader> headers) {
    String tokens = null;
    for (HttpHeader h : headers) {
      if (h.is("connection")) {
        String v = h.value().toLowerCase(Locale.ROOT);
        tokens = tokens == null ? v : tokens + "," + v;
      }
    }
    return tokens;
  }

  private static boolean listed(String tokens, String name) {
    for (String token : tokens.split(",")) {
      if (token.trim().equals(name)) return true;
    }
    return false;
  }

  private static String hex(long value) {
    String s = Long.toHexString(value);
    return "0".repeat(16 - s.length()) + s;
  }

  /** A route's header rules, with the headers parsed once. */
  static final class Rules {
    private final String[] remove;
    private final HttpHeader[] set;
    private final HttpHeader[] add;
    private final List<Header> rawSet;
    private final List<Header> rawAdd;
    private final boolean empty;

    Rules(HeaderRules rules) {
      List<String> removed = new ArrayList<>();
      rules.remove().forEach(n -> removed.add(n.toLowerCase(Locale.ROOT)));
      rules.set().forEach(h -> removed.add(h.name().toLowerCase(Locale.ROOT)));
      this.remove = removed.toArray(String[]::new);
      this.set = rules.set().stream().map(Rules::header).toArray(HttpHeader[]::new);
      this.add = rules.add().stream().map(Rules::header).toArray(HttpHeader[]::new);
      this.rawSet = rules.set();
      this.rawAdd = rules.add();
      this.empty = rules.isEmpty();
    }

    HeaderFields apply(HeaderFields headers) {
      if (empty) return headers;
      for (String name : remove) headers.removeAll(name);
      for (Header h : rawSet) headers.add(h.name(), h.value());
      for (Header h : rawAdd) headers.add(h.name(), h.value());
      return headers;
    }

    List<HttpHeader> apply(List<HttpHeader> headers) {
      if (empty) return headers;
      if (remove.length > 0) headers.removeIf(h -> contains(remove, h.lowercaseName()));
      headers.addAll(List.of(set));
      headers.addAll(List.of(add));
      return headers;
    }

    private static boolean contains(String[] names, String name) {
      for (String n : names) {
        if (n.equals(name)) return true;
      }
      return false;
    }

    private static HttpHeader header(Header h) {
      return HttpHeader.parse(h.name(), h.value());
    }
  }
}
