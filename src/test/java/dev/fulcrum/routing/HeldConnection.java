package dev.fulcrum.routing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/** A client TCP connection through a listener, kept open, that asks the HTTP backend behind it for its name. */
final class HeldConnection implements AutoCloseable {
  private final Socket socket;

  HeldConnection(InetSocketAddress listener) {
    try {
      socket = new Socket(listener.getAddress(), listener.getPort());
      socket.setSoTimeout(5_000);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Sends GET / on this connection and returns the response body: the backend's name. */
  String get() {
    try {
      socket.getOutputStream().write("GET / HTTP/1.1\r\nHost: test\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      InputStream in = socket.getInputStream();
      String head = readHead(in);
      int length = -1;
      for (String line : head.split("\r\n")) {
        if (line.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:")) {
          length = Integer.parseInt(line.substring(15).trim());
        }
      }
      if (!head.startsWith("HTTP/1.1 200") || length < 0) throw new AssertionError("unexpected response: " + head);
      return new String(in.readNBytes(length), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String readHead(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int matched = 0;
    byte[] end = {'\r', '\n', '\r', '\n'};
    while (matched < 4) {
      int b = in.read();
      if (b < 0) throw new AssertionError("connection closed after: " + head);
      head.write(b);
      matched = b == end[matched] ? matched + 1 : (b == '\r' ? 1 : 0);
    }
    return head.toString(StandardCharsets.US_ASCII);
  }

  @Override
  public void close() {
    try {
      socket.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
