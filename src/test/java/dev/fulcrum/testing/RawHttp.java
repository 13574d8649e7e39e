package dev.fulcrum.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/** A minimal HTTP/1.0 client on a plain socket: one request per connection, so each is a new L4 connection. */
public final class RawHttp {
  private RawHttp() {}

  /** GETs {@code path} on a new connection and returns the response body; throws if the connection fails. */
  public static String get(int port, String path) {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(10_000);
      socket.getOutputStream().write(("GET " + path + " HTTP/1.0\r\nHost: test\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      String response = new String(readAll(socket.getInputStream()), StandardCharsets.UTF_8);
      int body = response.indexOf("\r\n\r\n");
      if (!response.startsWith("HTTP/1.") || body < 0) throw new IOException("not an HTTP response: '" + response + "'");
      return response.substring(body + 4).trim();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static byte[] readAll(InputStream in) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    in.transferTo(out);
    return out.toByteArray();
  }
}
