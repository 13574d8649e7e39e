package dev.fulcrum.routing;

import java.net.InetAddress;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Function;

/**
 * What part of a request a key-based strategy (consistent hashing) hashes: the client's IP address, a header, a cookie
 * or the path. Written in config as {@code client-ip}, {@code "header:X-User"}, {@code "cookie:session"} or
 * {@code path}. A request without the named header or cookie falls back to its client IP, so it still sticks to one
 * backend.
 */
public record HashKey(Source source, String name) {

  public enum Source {
    CLIENT_IP,
    HEADER,
    COOKIE,
    PATH
  }

  public static final HashKey CLIENT_IP = new HashKey(Source.CLIENT_IP, "");

  private static final String TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";

  public HashKey {
    boolean named = source == Source.HEADER || source == Source.COOKIE;
    if (named != !name.isEmpty()) throw new IllegalArgumentException(source + " key with name '" + name + "'");
  }

  /** Parses the config form; the message of the exception says what is accepted. */
  public static HashKey parse(String text) {
    String s = text.trim();
    String lower = s.toLowerCase(Locale.ROOT);
    if (lower.equals("client-ip")) return CLIENT_IP;
    if (lower.equals("path")) return new HashKey(Source.PATH, "");
    int colon = s.indexOf(':');
    String kind = colon < 0 ? lower : lower.substring(0, colon);
    String name = colon < 0 ? "" : s.substring(colon + 1).trim();
    if ((kind.equals("header") || kind.equals("cookie")) && name.matches(TOKEN)) {
      return new HashKey(kind.equals("header") ? Source.HEADER : Source.COOKIE, name);
    }
    throw new IllegalArgumentException(
        "'" + text + "' is not a hash key (client-ip, path, \"header:NAME\" or \"cookie:NAME\")");
  }

  /**
   * The request key for a key-based strategy. {@code header} and {@code cookie} look a value up by name; they are
   * called only when this key names a header or a cookie.
   */
  public long keyFor(
      InetAddress client,
      Function<String, Optional<String>> header,
      Function<String, Optional<String>> cookie,
      String path) {
    return switch (source) {
      case CLIENT_IP -> clientIp(client);
      case PATH -> ofString(path);
      case HEADER -> header.apply(name).map(HashKey::ofString).orElseGet(() -> clientIp(client));
      case COOKIE -> cookie.apply(name).map(HashKey::ofString).orElseGet(() -> clientIp(client));
    };
  }

  /** The key of a client address; what L4 listeners pass. */
  public static long clientIp(InetAddress client) {
    // InetAddress.hashCode is the IPv4 address itself, or a fold of the IPv6 address, and allocates nothing.
    return mix(client.hashCode());
  }

  /** A 64-bit hash of text (FNV-1a over the UTF-16 chars, then mixed), without allocating. */
  public static long ofString(CharSequence text) {
    long h = 0xcbf29ce484222325L;
    for (int i = 0; i < text.length(); i++) {
      h ^= text.charAt(i);
      h *= 0x100000001b3L;
    }
    return mix(h);
  }

  /** The murmur3 finalizer: spreads every input bit over the whole key. */
  static long mix(long z) {
    z = (z ^ (z >>> 33)) * 0xff51afd7ed558ccdL;
    z = (z ^ (z >>> 33)) * 0xc4ceb9fe1a85ec53L;
    return z ^ (z >>> 33);
  }

  @Override
  public String toString() {
    return switch (source) {
      case CLIENT_IP -> "client-ip";
      case PATH -> "path";
      case HEADER -> "header:" + name;
      case COOKIE -> "cookie:" + name;
    };
  }
}
