package dev.fulcrum.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.List;

/**
 * A listening socket whose connects hang: it never accepts, and once its small accept queue is full Linux drops
 * further SYNs instead of refusing them, so a client's connect waits until its own timeout. Connects made before
 * {@link #fill()} (a health check) complete, as the kernel queues them.
 */
public final class HangingBackend implements AutoCloseable {
  private final ServerSocket server;
  private final List<Socket> fillers = new ArrayList<>();

  public HangingBackend() {
    try {
      server = new ServerSocket(0, 4, InetAddress.getLoopbackAddress());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public String address() {
    return "127.0.0.1:" + server.getLocalPort();
  }

  /**
   * Fills the accept queue with idle connections until a probe connect times out; fails the test if connects keep
   * completing (a kernel that refuses or completes them instead, e.g. with tcp_abort_on_overflow), as then nothing hangs.
   */
  public void fill() {
    for (int i = 0; i < 16; i++) {
      Socket socket = new Socket();
      try {
        socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getLocalPort()), 300);
        fillers.add(socket);
      } catch (SocketTimeoutException full) {
        close(socket);
        return;
      } catch (IOException e) {
        close(socket);
        throw new AssertionError("a connect to the full accept queue failed instead of hanging: " + e, e);
      }
    }
    throw new AssertionError("16 connects completed although the socket never accepts: connects do not hang here");
  }

  @Override
  public void close() {
    fillers.forEach(HangingBackend::close);
    try {
      server.close();
    } catch (IOException ignored) {
      // closing a test socket
    }
  }

  private static void close(Socket socket) {
    try {
      socket.close();
    } catch (IOException ignored) {
      // closing a test socket
    }
  }
}
