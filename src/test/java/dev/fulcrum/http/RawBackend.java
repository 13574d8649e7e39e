package dev.fulcrum.http;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A backend on a plain socket, for answers a real HTTP server would not give: it answers health checks, and any other
 * request with a reset, with garbage, with an HTTP/1.0-style response whose body ends where the connection does, or with
 * a keep-alive response after which it closes the connection anyway (as a backend whose keep-alive timeout ran out).
 */
final class RawBackend implements AutoCloseable {
  enum Behaviour { RESET, GARBAGE, UNTIL_CLOSE, CLOSE_AFTER_ANSWER }

  /** The body of an {@code UNTIL_CLOSE} answer: numbered lines, so a lost or repeated piece shows. */
  static final String UNTIL_CLOSE_BODY = numberedLines(10_000);

  private static final String HEALTHY = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nup";

  private final ServerSocket server;
  private final Behaviour behaviour;
  private final AtomicInteger requests = new AtomicInteger();

  RawBackend(Behaviour behaviour) throws IOException {
    this.behaviour = behaviour;
    this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread acceptor = new Thread(this::acceptLoop, "raw-backend-" + behaviour);
    acceptor.setDaemon(true);
    acceptor.start();
  }

  String address() {
    return "127.0.0.1:" + server.getLocalPort();
  }

  /** Requests other than health checks whose head arrived. */
  int requests() {
    return requests.get();
  }

  private void acceptLoop() {
    while (!server.isClosed()) {
      try (Socket socket = server.accept()) {
        String head = readHead(socket.getInputStream());
        if (head.startsWith("GET /health ")) {
          socket.getOutputStream().write(HEALTHY.getBytes(StandardCharsets.US_ASCII));
          continue;
        }
        if (head.isEmpty()) continue;
        requests.incrementAndGet();
        switch (behaviour) {
          case GARBAGE -> socket.getOutputStream().write("this is not HTTP\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
          case UNTIL_CLOSE -> socket.getOutputStream().write(
              ("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n" + UNTIL_CLOSE_BODY).getBytes(StandardCharsets.US_ASCII));
          case RESET -> socket.setSoLinger(true, 0); // close with RST
          case CLOSE_AFTER_ANSWER -> socket.getOutputStream().write(
              "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".getBytes(StandardCharsets.US_ASCII));
        }
      } catch (IOException e) {
        // the next connection is independent of this one
      }
    }
  }

  private static String numberedLines(int count) {
    StringBuilder lines = new StringBuilder();
    for (int i = 0; i < count; i++) lines.append("line ").append(i).append('\n');
    return lines.toString();
  }

  private static String readHead(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int c;
    while ((c = in.read()) != -1) {
      head.write(c);
      if (head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) break;
    }
    return head.toString(StandardCharsets.ISO_8859_1);
  }

  @Override
  public void close() throws IOException {
    server.close();
  }
}
