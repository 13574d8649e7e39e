package dev.fulcrum.http;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** Message heads as the bytes the nio engine sends: ISO-8859-1 text with CRLF line ends. */
final class HeadWriter {
  private byte[] bytes = new byte[512];
  private int size;

  static ByteBuffer request(String method, String target, int minorVersion, HeaderFields headers) {
    HeadWriter w = new HeadWriter();
    w.append(method).append(" ").append(target).append(minorVersion == 0 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n");
    return w.fields(headers);
  }

  static ByteBuffer response(int status, String reason, HeaderFields headers) {
    HeadWriter w = new HeadWriter();
    w.append("HTTP/1.1 ").append(Integer.toString(status)).append(" ").append(reason).append("\r\n");
    return w.fields(headers);
  }

  /** One of the proxy's own responses, head and short plain-text body. */
  static ByteBuffer ownResponse(int status, String message, String requestId, boolean close) {
    byte[] body = (status + " " + message + "\n").getBytes(StandardCharsets.UTF_8);
    HeaderFields headers = new HeaderFields(5);
    headers.add("Content-Type", "text/plain; charset=UTF-8");
    headers.add("Content-Length", Integer.toString(body.length));
    if (requestId != null) headers.add(HeaderRewriter.REQUEST_ID, requestId);
    if (close) headers.add("Connection", "close");
    HeadWriter w = new HeadWriter();
    w.append("HTTP/1.1 ").append(Integer.toString(status)).append(" ").append(reason(status)).append("\r\n");
    for (int i = 0; i < headers.size(); i++) w.field(headers.name(i), headers.value(i));
    w.append("\r\n");
    w.reserve(body.length);
    System.arraycopy(body, 0, w.bytes, w.size, body.length);
    w.size += body.length;
    return ByteBuffer.wrap(w.bytes, 0, w.size);
  }

  static String reason(int status) {
    return switch (status) {
      case 100 -> "Continue";
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

  private ByteBuffer fields(HeaderFields headers) {
    for (int i = 0; i < headers.size(); i++) field(headers.name(i), headers.value(i));
    append("\r\n");
    return ByteBuffer.wrap(bytes, 0, size);
  }

  private void field(String name, String value) {
    append(name).append(": ").append(value).append("\r\n");
  }

  private HeadWriter append(String s) {
    int n = s.length();
    reserve(n);
    for (int i = 0; i < n; i++) bytes[size++] = (byte) s.charAt(i);
    return this;
  }

  private void reserve(int n) {
    if (size + n > bytes.length) bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, size + n));
  }
}
