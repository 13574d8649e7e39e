package dev.fulcrum.http.wire;

import java.nio.ByteBuffer;
import java.util.Locale;

/**
 * The trailer section of a chunked body (RFC 9112 §7.1.2) for a proxy that takes the data out of the framing (an
 * HTTP/2 peer gets DATA frames and a trailing HEADERS frame): it is given the framing bytes {@link ChunkedScanner}
 * accepted, keeps those after the last data, and reads the fields from them once the body ended. Bounded by the
 * scanner's limit on the trailer section. Fields that may not be trailers (framing, routing, hop-by-hop) are left out.
 */
public final class ChunkedTrailers {
  private final StringBuilder framing = new StringBuilder();

  /** Framing bytes just accepted; {@code dataFollows} when chunk data comes next (they were no trailer section). */
  public void framing(ByteBuffer bytes, boolean dataFollows) {
    if (dataFollows) {
      framing.setLength(0);
      return;
    }
    for (int i = bytes.position(); i < bytes.limit(); i++) framing.append((char) (bytes.get(i) & 0xff));
  }

  /** The trailer fields, once the scanner is done; null when there were none. */
  public HeaderFields trailers() {
    String[] lines = framing.toString().split("\r\n", -1);
    int i = 0;
    while (i < lines.length && lines[i].isEmpty()) i++; // the CRLF that ended the last chunk's data
    i++; // the last chunk's size line, "0" and any extensions
    HeaderFields fields = null;
    for (; i < lines.length && !lines[i].isEmpty(); i++) {
      int colon = lines[i].indexOf(':');
      if (colon <= 0) continue;
      String name = lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT);
      if (name.isEmpty() || forbidden(name)) continue;
      if (fields == null) fields = new HeaderFields(4);
      fields.add(name, lines[i].substring(colon + 1).trim());
    }
    return fields;
  }

  private static boolean forbidden(String name) {
    return switch (name) {
      case "content-length", "transfer-encoding", "host", "connection", "keep-alive", "te", "trailer", "upgrade",
          "proxy-connection", "content-type", "content-encoding", "content-range", "authorization", "set-cookie",
          "cookie" -> true;
      default -> false;
    };
  }
}
