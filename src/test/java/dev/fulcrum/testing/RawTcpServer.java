package dev.fulcrum.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/** A plain blocking TCP server on 127.0.0.1 for tests that need byte-level control over the backend side. */
public final class RawTcpServer implements AutoCloseable {
  public interface Handler {
    void handle(Socket socket) throws IOException;
  }

  private final ServerSocket server;
  private final ExecutorService threads = Executors.newCachedThreadPool();

  public RawTcpServer(Handler handler) {
    try {
      server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    threads.execute(() -> {
      while (!server.isClosed()) {
        try {
          Socket socket = server.accept();
          threads.execute(() -> {
            try (socket) {
              handler.handle(socket);
            } catch (IOException ignored) {
              // the peer went away: nothing for a test backend to do
            }
          });
        } catch (IOException closed) {
          return;
        }
      }
    });
  }

  /** Copies everything it reads back to the sender, then half-closes. */
  public static RawTcpServer echo() {
    return new RawTcpServer(socket -> {
      socket.getInputStream().transferTo(socket.getOutputStream());
      socket.shutdownOutput();
    });
  }

  public String address() {
    return "127.0.0.1:" + server.getLocalPort();
  }

  @Override
  public void close() throws IOException {
    server.close();
    threads.shutdownNow();
  }
}
