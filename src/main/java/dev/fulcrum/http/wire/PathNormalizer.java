package dev.fulcrum.http.wire;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * One spelling per path, so that routes and the firewall decide on what the backend will read (Envoy's
 * {@code normalize_path}, {@code merge_slashes} and {@code path_with_escaped_slashes_action}; RFC 3986 §6.2.2):
 * <ol>
 *   <li>percent-encoded unreserved characters (letters, digits, {@code - . _ ~}) are decoded, other encodings keep
 *       their byte with upper-case hex: {@code /%61dmin} is {@code /admin}, {@code %2e%2e} is {@code ..};
 *   <li>an encoded slash ({@code %2F}) is decoded to a separator, refused, or kept within its segment, as configured;
 *   <li>a backslash, raw or encoded, and an encoded NUL are refused: servers disagree on what they mean;
 *   <li>runs of slashes are merged, when configured;
 *   <li>dot segments are resolved (RFC 3986 §5.2.4), {@code /a/../..} staying at {@code /}.
 * </ol>
 * The result is the path to forward ({@link #forwarded}, still encoded) and the path to match ({@link #decoded}, with
 * every other byte decoded as UTF-8; with {@code keep}, {@code %2F} stays as it is there too).
 */
public final class PathNormalizer {
  /** What an encoded slash becomes. */
  public enum EncodedSlash {
    /** A separator, in the matched and the forwarded path (nginx's reading). */
    DECODE,
    /** 400: the request is refused. */
    REJECT,
    /** A character within its segment, forwarded encoded. */
    KEEP
  }

  /** The normalized path: forwarded (encoded, normalized) and decoded (what routes and the firewall match). */
  public record Normalized(String forwarded, String decoded) implements ParsedPath {}

  private final EncodedSlash encodedSlash;
  private final boolean mergeSlashes;

  public PathNormalizer(EncodedSlash encodedSlash, boolean mergeSlashes) {
    this.encodedSlash = encodedSlash;
    this.mergeSlashes = mergeSlashes;
  }

  public static final PathNormalizer DEFAULT = new PathNormalizer(EncodedSlash.DECODE, true);

  /** The normalized form of an origin-form path (no query), or why it is refused. */
  public ParsedPath normalize(String raw) {
    String path = raw;
    // most paths have nothing to decode: they are not copied
    if (raw.indexOf('%') >= 0 || raw.indexOf('\\') >= 0) {
      StringBuilder out = new StringBuilder(raw.length());
      for (int i = 0; i < raw.length(); i++) {
        char c = raw.charAt(i);
        if (c == '\\') return WireError.malformed("the request path has a backslash");
        if (c != '%') {
          out.append(c);
          continue;
        }
        int value = i + 2 < raw.length() ? hexByte(raw.charAt(i + 1), raw.charAt(i + 2)) : -1;
        if (value < 0) return WireError.malformed("the request path has a '%' that does not start a percent-encoded byte");
        i += 2;
        if (value == 0) return WireError.malformed("the request path has an encoded NUL");
        if (value == '\\') return WireError.malformed("the request path has an encoded backslash");
        if (value == '/') {
          switch (encodedSlash) {
            case DECODE -> out.append('/');
            case REJECT -> {
              return WireError.malformed("the request path has an encoded slash (%2F)");
            }
            case KEEP -> out.append("%2F");
          }
        } else if (isUnreserved(value)) {
          out.append((char) value);
        } else {
          out.append('%').append(HEX[value >> 4]).append(HEX[value & 15]);
        }
      }
      path = out.toString();
    }
    if (mergeSlashes && path.contains("//")) path = mergeSlashes(path);
    path = removeDotSegments(path);
    return new Normalized(path, decode(path));
  }

  private static String mergeSlashes(CharSequence path) {
    StringBuilder merged = new StringBuilder(path.length());
    for (int i = 0; i < path.length(); i++) {
      char c = path.charAt(i);
      if (c == '/' && merged.length() > 0 && merged.charAt(merged.length() - 1) == '/') continue;
      merged.append(c);
    }
    return merged.toString();
  }

  /** RFC 3986 §5.2.4, for an absolute path; "/a/../.." stays at "/". */
  static String removeDotSegments(String path) {
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

  /** Every encoded byte decoded as UTF-8, but for a kept %2F, which stays as it is. */
  private String decode(String path) {
    if (path.indexOf('%') < 0) return path;
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(path.length());
    for (int i = 0; i < path.length(); i++) {
      char c = path.charAt(i);
      if (c == '%') {
        int value = hexByte(path.charAt(i + 1), path.charAt(i + 2));
        if (value == '/') {
          bytes.write('%');
          continue;
        }
        bytes.write(value);
        i += 2;
      } else {
        bytes.write(c);
      }
    }
    return bytes.toString(StandardCharsets.UTF_8);
  }

  /** RFC 3986 §2.3. */
  private static boolean isUnreserved(int c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
        || c == '-' || c == '.' || c == '_' || c == '~';
  }

  private static final char[] HEX = "0123456789ABCDEF".toCharArray();

  private static int hexByte(char high, char low) {
    int h = hex(high);
    int l = hex(low);
    return h < 0 || l < 0 ? -1 : h * 16 + l;
  }

  private static int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
}
