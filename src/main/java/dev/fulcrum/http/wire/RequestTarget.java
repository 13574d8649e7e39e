package dev.fulcrum.http.wire;

/**
 * A request target split for routing: the host of an absolute-form target (else null), the path as sent, the path in
 * its normal form to forward and decoded to match (see {@link PathNormalizer}), and the query with its '?'.
 */
public record RequestTarget(String authority, String rawPath, String forwardPath, String path, String query)
    implements ParsedTarget {
  public static ParsedTarget parse(String target, PathNormalizer normalizer) {
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
    } else if (target.equals("*")) {
      return new RequestTarget(null, "*", "*", "*", "");
    } else if (!target.startsWith("/")) {
      return WireError.malformed("the request target must be a path (\"/...\") or an absolute URL");
    }
    int q = rest.indexOf('?');
    String rawPath = q < 0 ? rest : rest.substring(0, q);
    String query = q < 0 ? "" : rest.substring(q);
    ParsedPath normalized = normalizer.normalize(rawPath);
    if (normalized instanceof WireError error) return error;
    PathNormalizer.Normalized path = (PathNormalizer.Normalized) normalized;
    return new RequestTarget(authority, rawPath, path.forwarded(), path.decoded(), query);
  }

  /** Whether the client spelled the path otherwise than its normal form (encodings, dot segments, slashes). */
  public boolean respelled() {
    return !rawPath.equals(forwardPath);
  }

  /**
   * The normal form of the path with its first {@code decodedLength} characters (a route's prefix, which matched the
   * decoded path) replaced by {@code replacement}: the prefix may be encoded in it.
   */
  public String withPrefixReplaced(int decodedLength, String replacement) {
    return replacement + forwardPath.substring(forwardLength(decodedLength));
  }

  /** How many characters of the forwarded path decode to the first {@code decodedLength} characters of the path. */
  private int forwardLength(int decodedLength) {
    String rawPath = forwardPath;
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

  private int hexByte(int at) {
    return hex(forwardPath.charAt(at + 1)) * 16 + hex(forwardPath.charAt(at + 2));
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
