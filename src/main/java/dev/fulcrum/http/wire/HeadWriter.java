package dev.fulcrum.http.wire;

import java.nio.ByteBuffer;
import java.util.Arrays;

/** Message heads as the bytes sent on the wire: ISO-8859-1 text with CRLF line ends. */
public final class HeadWriter {
  private byte[] bytes = new byte[512];
  private int size;

  public static ByteBuffer request(String method, String target, int minorVersion, HeaderFields headers) {
    HeadWriter w = new HeadWriter();
    w.append(method).append(" ").append(target).append(minorVersion == 0 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n");
    return w.fields(headers).toBuffer();
  }

  public static ByteBuffer response(int status, String reason, HeaderFields headers) {
    return new HeadWriter().statusLine(status, reason).fields(headers).toBuffer();
  }

  /** A whole response with a short body, e.g. one of the proxy's own; the headers get its Content-Length. */
  public static ByteBuffer response(int status, HeaderFields headers, byte[] body) {
    headers.add("Content-Length", Integer.toString(body.length));
    HeadWriter w = new HeadWriter().statusLine(status, reason(status)).fields(headers);
    w.reserve(body.length);
    System.arraycopy(body, 0, w.bytes, w.size, body.length);
    w.size += body.length;
    return w.toBuffer();
  }

  /** The reason phrase of the statuses the proxy answers with itself (RFC 9110 §15). */
  private static String reason(int status) {
    return switch (status) {
      case 400 -> "Bad Request";
      case 403 -> "Forbidden";
      case 404 -> "Not Found";
      case 408 -> "Request Timeout";
      case 413 -> "Content Too Large";
      case 414 -> "URI Too Long";
      case 417 -> "Expectation Failed";
      case 431 -> "Request Header Fields Too Large";
      case 501 -> "Not Implemented";
      case 502 -> "Bad Gateway";
      case 503 -> "Service Unavailable";
      case 504 -> "Gateway Timeout";
      case 505 -> "HTTP Version Not Supported";
      default -> "Error";
    };
  }

  private HeadWriter statusLine(int status, String reason) {
    return append("HTTP/1.1 ").append(Integer.toString(status)).append(" ").append(reason).append("\r\n");
  }

  private HeadWriter fields(HeaderFields headers) {
    for (int i = 0; i < headers.size(); i++) append(headers.name(i)).append(": ").append(headers.value(i)).append("\r\n");
    return append("\r\n");
  }

  private ByteBuffer toBuffer() {
    return ByteBuffer.wrap(bytes, 0, size);
  }

  /**
   * Heads are ISO-8859-1 (the parser made every string of one from bytes that way), so each char is one byte: the old
   * {@code getBytes(int, int, byte[], int)} copies exactly that, as an array copy for Latin-1 strings.
   */
  @SuppressWarnings("deprecation")
  private HeadWriter append(String s) {
    int n = s.length();
    reserve(n);
    s.getBytes(0, n, bytes, size);
    size += n;
    return this;
  }

  private void reserve(int n) {
    if (size + n > bytes.length) bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, size + n));
  }
}
