package dev.fulcrum.http.proxy;

import dev.fulcrum.config.HostPort;
import dev.fulcrum.http.wire.HeaderView;
import dev.fulcrum.routing.RoutingTable;

/**
 * Sticky-session cookies. The value is a hash of the backend's address, the same on every node and free of the
 * address itself, so a client keeps its backend whichever Fulcrum node it reaches. Hashes are computed each time, with
 * no cache: a cache keyed by backends grew with every backend a node ever saw (DNS discovery replaces them all the
 * time), while the hash of an address costs about as much as a lookup in that cache did.
 */
final class StickyCookie {
  private static final char[] HEX = "0123456789abcdef".toCharArray();

  private StickyCookie() {}

  static String token(HostPort backend) {
    long h = hash(backend);
    char[] token = new char[16];
    for (int i = 15; i >= 0; i--, h >>>= 4) token[i] = HEX[(int) (h & 0xf)];
    return new String(token);
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
    if (token.length() != 16) return -1;
    long wanted = 0;
    for (int i = 0; i < 16; i++) {
      char c = token.charAt(i);
      // only what token() issues names a backend: no upper case, no other scripts' digits
      int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (digit < 0) return -1;
      wanted = wanted << 4 | digit;
    }
    for (int i = 0; i < table.size(); i++) {
      if (hash(table.get(i).address()) == wanted) return i;
    }
    return -1;
  }

  /**
   * FNV-1a 64 of the address as {@link HostPort#toString()} spells it, without building that string: a host is ASCII
   * (HostPort accepts nothing else), so its chars are its UTF-8 bytes.
   */
  static long hash(HostPort backend) {
    long h = 0xcbf29ce484222325L;
    String host = backend.host();
    boolean bracketed = host.indexOf(':') >= 0;
    if (bracketed) h = fnv(h, '[');
    for (int i = 0; i < host.length(); i++) h = fnv(h, host.charAt(i));
    if (bracketed) h = fnv(h, ']');
    h = fnv(h, ':');
    int port = backend.port();
    int divisor = 1;
    while (divisor * 10 <= port) divisor *= 10;
    for (; divisor > 0; divisor /= 10) h = fnv(h, '0' + port / divisor % 10);
    return h;
  }

  private static long fnv(long h, int c) {
    return (h ^ (c & 0xff)) * 0x100000001b3L;
  }
}
