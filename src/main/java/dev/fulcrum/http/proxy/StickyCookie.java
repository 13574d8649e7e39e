package dev.fulcrum.http.proxy;

import dev.fulcrum.config.HostPort;
import dev.fulcrum.http.wire.HeaderView;
import dev.fulcrum.routing.RoutingTable;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Sticky-session cookies. The value is a hash of the backend's address, the same on every node and free of the
 * address itself, so a client keeps its backend whichever Fulcrum node it reaches.
 */
final class StickyCookie {
  private static final ConcurrentHashMap<HostPort, String> TOKENS = new ConcurrentHashMap<>();

  private StickyCookie() {}

  static String token(HostPort backend) {
    return TOKENS.computeIfAbsent(backend, StickyCookie::hash);
  }

  /** The named cookie's value in the Cookie headers ("a=1; b=2"), or null. */
  static String read(HeaderView headers, String name) {
    for (int i = 0; i < headers.size(); i++) {
      if (!headers.name(i).equalsIgnoreCase("cookie")) continue;
      for (String pair : headers.value(i).split(";")) {
        int eq = pair.indexOf('=');
        if (eq > 0 && pair.substring(0, eq).trim().equals(name)) return pair.substring(eq + 1).trim();
      }
    }
    return null;
  }

  /** The Set-Cookie header value naming this backend. */
  static String setCookieValue(String name, HostPort backend) {
    return name + "=" + token(backend) + "; Path=/; HttpOnly";
  }

  /** The index in the table of the backend the token names, or -1 when it is not (or no longer) eligible. */
  static int find(RoutingTable table, String token) {
    for (int i = 0; i < table.size(); i++) {
      if (token(table.get(i).address()).equals(token)) return i;
    }
    return -1;
  }

  private static String hash(HostPort backend) {
    long h = 0xcbf29ce484222325L; // FNV-1a 64
    for (byte b : backend.toString().getBytes(StandardCharsets.UTF_8)) {
      h ^= b & 0xff;
      h *= 0x100000001b3L;
    }
    String hex = Long.toHexString(h);
    return "0".repeat(16 - hex.length()) + hex;
  }
}
