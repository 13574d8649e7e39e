package dev.fulcrum.http;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** A deliberately naive HTTP/1.1 client over a plain socket: it sends exactly the bytes a test writes. */
final class RawHttp implements AutoCloseable {
  private final Socket socket;
  private final InputStream in;
  private final OutputStream out;

  RawHttp(int port) {
    try {
      socket = new Socket("127.0.0.1", port);
      socket.setSoTimeout(10_000);
      in = socket.getInputStream();
      out = socket.getOutputStream();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  record Response(int status, Map<String, List<String>> headers, String body) {
    String header(String name) {
      List<String> values = headers.get(name.toLowerCase(Locale.ROOT));
      return values == null ? null : String.join(", ", values);
    }
  }

  /** The client side's port, as a server sees it. */
  int localPort() {
    return socket.getLocalPort();
  }

  /** One request on a new connection. */
  static Response exchange(int port, String request) {
    try (RawHttp http = new RawHttp(port)) {
      http.send(request);
      return http.read();
    }
  }

  /** The request is answered with {@code status} and the connection closed after it. */
  static void assertRefused(int port, int status, String request) {
    try (RawHttp http = new RawHttp(port)) {
      http.send(request);
      org.junit.jupiter.api.Assertions.assertEquals(status, http.read().status(), request);
      org.junit.jupiter.api.Assertions.assertTrue(http.closedByPeer(), "the connection is closed after refusing: " + request);
    }
  }

  /** A simple GET with these extra header lines (each "Name: value"). */
  static Response get(int port, String host, String target, String... headers) {
    StringBuilder request = new StringBuilder("GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\n");
    for (String h : headers) request.append(h).append("\r\n");
    return exchange(port, request.append("Connection: close\r\n\r\n").toString());
  }

  void send(String text) {
    try {
      out.write(text.getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The status line and headers only: for HEAD responses and interim (1xx) ones. */
  Response readHead() {
    try {
      String statusLine = line();
      if (statusLine == null) throw new AssertionError("connection closed before a response");
      int status = Integer.parseInt(statusLine.split(" ")[1]);
      Map<String, List<String>> headers = new LinkedHashMap<>();
      for (String line = line(); line != null && !line.isEmpty(); line = line()) {
        int colon = line.indexOf(':');
        headers.computeIfAbsent(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), k -> new ArrayList<>())
            .add(line.substring(colon + 1).trim());
      }
      return new Response(status, headers, "");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  Response read() {
    try {
      Response head = readHead();
      int status = head.status();
      Map<String, List<String>> headers = head.headers();
      ByteArrayOutputStream body = new ByteArrayOutputStream();
      List<String> length = headers.get("content-length");
      List<String> encoding = headers.get("transfer-encoding");
      if (encoding != null && encoding.contains("chunked")) {
        for (int size = Integer.parseInt(line().trim(), 16); size > 0; size = Integer.parseInt(line().trim(), 16)) {
          body.write(in.readNBytes(size));
          line();
        }
        line();
      } else if (length != null) {
        body.write(in.readNBytes(Integer.parseInt(length.get(0))));
      } else if (status >= 200 && status != 204 && status != 304) {
        body.write(in.readAllBytes());
      }
      return new Response(status, headers, body.toString(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Reads exactly {@code count} bytes of a body whose head {@link #readHead} took. */
  byte[] readBodyBytes(int count) {
    try {
      return in.readNBytes(count);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** True when the peer closes the connection within the socket timeout. */
  boolean closedByPeer() {
    try {
      return in.read() == -1;
    } catch (SocketTimeoutException e) {
      return false;
    } catch (IOException e) {
      return true; // reset
    }
  }

  /**
   * Whether anything (a byte or a close) arrived within {@code wait}. Consumes a byte if one came, so use it only to
   * assert that the server stays silent.
   */
  boolean answeredWithin(java.time.Duration wait) {
    try {
      socket.setSoTimeout((int) wait.toMillis());
      try {
        in.read();
        return true;
      } finally {
        socket.setSoTimeout(10_000);
      }
    } catch (SocketTimeoutException e) {
      return false;
    } catch (IOException e) {
      return true;
    }
  }

  private String line() throws IOException {
    StringBuilder line = new StringBuilder();
    int c;
    while ((c = in.read()) != -1) {
      if (c == '\n') return line.toString().replaceAll("\r$", "");
      line.append((char) c);
    }
    return line.length() == 0 ? null : line.toString();
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
