package dev.fulcrum.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * HTTP/1.1 over a plain socket, for tests of an L4 listener: one connection is one pick of a backend, so a test
 * controls exactly which requests share a connection.
 */
public final class RawHttp implements AutoCloseable {
  private final Socket socket;
  private final InputStream in;
  private final OutputStream out;

  public RawHttp(InetSocketAddress address) {
    try {
      socket = new Socket();
      socket.connect(address, 5000);
      socket.setSoTimeout(10_000);
      in = socket.getInputStream();
      out = socket.getOutputStream();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** One GET on a new connection, closed afterwards; returns the body. */
  public static String getOnce(InetSocketAddress address, String path) {
    try (RawHttp http = new RawHttp(address)) {
      return http.get(path);
    }
  }

  /** One GET to 127.0.0.1:{@code port} on a new connection, closed afterwards; returns the body. */
  public static String getOnce(int port, String path) {
    return getOnce(new InetSocketAddress("127.0.0.1", port), path);
  }

  /** A GET on this (kept-alive) connection; returns the body of its 200 response. */
  public String get(String path) {
    try {
      out.write(("GET " + path + " HTTP/1.1\r\nHost: test\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      out.flush();
      String head = readHead();
      int length = -1;
      for (String line : head.split("\r\n")) {
        if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) length = Integer.parseInt(line.substring(15).trim());
      }
      if (!head.startsWith("HTTP/1.1 200") || length < 0) throw new AssertionError("unexpected response: " + head);
      return new String(in.readNBytes(length), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private String readHead() throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int matched = 0;
    while (matched < 4) {
      int b = in.read();
      if (b < 0) throw new IOException("connection closed before the response head ended: " + head);
      head.write(b);
      matched = (b == "\r\n\r\n".charAt(matched)) ? matched + 1 : (b == '\r' ? 1 : 0);
    }
    return head.toString(StandardCharsets.US_ASCII);
  }

  @Override
  public void close() {
    try {
      socket.close();
    } catch (IOException e) {
      // closing a test socket: nothing to do
    }
  }
}
