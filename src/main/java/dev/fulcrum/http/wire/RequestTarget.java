package dev.fulcrum.http.wire;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * A request target split for routing: the host of an absolute-form target (else null), the path as sent, the path
 * percent-decoded (what routes and the firewall match, so "/%61dmin" is "/admin"), and the query with its '?'.
 */
public record RequestTarget(String authority, String rawPath, String path, String query) implements ParsedTarget {
  public static ParsedTarget parse(String target) {
    String authority = null;
    String rest = target;
    if (startsWithIgnoreCase(target, "http://") || startsWithIgnoreCase(target, "https://")) {
      int hostStart = target.indexOf("//") + 2;
      int pathStart = indexOfAny(target, hostStart);
      authority = target.substring(hostStart, pathStart);
      int at = authority.lastIndexOf('@');
      if (at >= 0) authority = authority.substring(at + 1);
      rest = pathStart == target.length() ? "/" : target.substring(pathStart);
      if (rest.charAt(0) == '?') rest = "/" + rest;
    } else if (!target.startsWith("/") && !target.equals("*")) {
      return WireError.malformed("the request target must be a path (\"/...\") or an absolute URL");
    }
    int q = rest.indexOf('?');
    // as nginx: dot segments are resolved before routing and the firewall see the path, and the backend gets it so
    String rawPath = removeDotSegments(q < 0 ? rest : rest.substring(0, q));
    String query = q < 0 ? "" : rest.substring(q);
    String path = decode(rawPath);
    if (path == null) return WireError.malformed("the request path has a '%' that does not start a percent-encoded byte");
    if (hasDotSegment(path)) return WireError.malformed("the request path has percent-encoded '.' or '..' segments");
    return new RequestTarget(authority, rawPath, path, query);
  }

  /**
   * The raw path with its first {@code decodedLength} characters (a route's prefix, which matched the decoded path)
   * replaced by {@code replacement}, and the query: the prefix may have been sent percent-encoded.
   */
  public String withPrefixReplaced(int decodedLength, String replacement) {
    return replacement + rawPath.substring(rawLength(decodedLength)) + query;
  }

  /** How many characters of the raw path decode to the first {@code decodedLength} characters of the path. */
  private int rawLength(int decodedLength) {
    if (rawPath.indexOf('%') < 0) return decodedLength;
    int decoded = 0;
    int raw = 0;
    while (raw < rawPath.length() && decoded < decodedLength) {
      if (rawPath.charAt(raw) != '%') {
        raw++;
        decoded++;
        continue;
      }
      int b = hexByte(raw);
      raw += 3;
      // UTF-8 continuation bytes add to the character their lead byte began
      if ((b & 0xC0) != 0x80) decoded++;
    }
    while (raw < rawPath.length() && rawPath.charAt(raw) == '%' && (hexByte(raw) & 0xC0) == 0x80) raw += 3;
    return raw;
  }

  /** RFC 3986 §5.2.4, for an absolute path; "/a/../.." stays at "/". */
  private static String removeDotSegments(String path) {
    if (!hasDotSegment(path)) return path;
    String[] segments = path.substring(1).split("/", -1);
    java.util.ArrayDeque<String> out = new java.util.ArrayDeque<>();
    for (int i = 0; i < segments.length; i++) {
      boolean last = i == segments.length - 1;
      switch (segments[i]) {
        case "." -> {
          if (last) out.addLast("");
        }
        case ".." -> {
          out.pollLast();
          if (last) out.addLast("");
        }
        default -> out.addLast(segments[i]);
      }
    }
    return "/" + String.join("/", out);
  }

  private static boolean hasDotSegment(String path) {
    return path.contains("/./") || path.contains("/../") || path.endsWith("/.") || path.endsWith("/..");
  }

  /** The path percent-decoded as UTF-8, or null when a '%' starts no encoded byte. */
  private static String decode(String raw) {
    if (raw.indexOf('%') < 0) return raw;
    ByteArrayOutputStream out = new ByteArrayOutputStream(raw.length());
    for (int i = 0; i < raw.length(); i++) {
      char c = raw.charAt(i);
      if (c != '%') {
        out.write(c);
      } else if (i + 2 < raw.length() && hex(raw.charAt(i + 1)) >= 0 && hex(raw.charAt(i + 2)) >= 0) {
        out.write(hex(raw.charAt(i + 1)) * 16 + hex(raw.charAt(i + 2)));
        i += 2;
      } else {
        return null;
      }
    }
    return out.toString(StandardCharsets.UTF_8);
  }

  private int hexByte(int at) {
    return hex(rawPath.charAt(at + 1)) * 16 + hex(rawPath.charAt(at + 2));
  }

  private static int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  private static int indexOfAny(String s, int from) {
    for (int i = from; i < s.length(); i++) {
      if (s.charAt(i) == '/' || s.charAt(i) == '?') return i;
    }
    return s.length();
  }

  private static boolean startsWithIgnoreCase(String s, String prefix) {
    return s.regionMatches(true, 0, prefix, 0, prefix.length());
  }
}
