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
 * A loopback address where connects hang until they time out, as with a backend behind a firewall that drops packets:
 * a listening socket that never accepts, its accept queue filled first. Linux drops the SYNs of further connects.
 */
public final class Blackhole implements AutoCloseable {
  private final ServerSocket server;
  private final List<Socket> fillers = new ArrayList<>();

  public Blackhole() {
    try {
      server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
      InetSocketAddress address = new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getLocalPort());
      for (int i = 0; i < 16; i++) {
        Socket filler = new Socket();
        fillers.add(filler);
        try {
          filler.connect(address, 200);
        } catch (SocketTimeoutException full) {
          return;
        }
      }
      throw new IllegalStateException("the accept queue of " + address + " did not fill up: connects do not hang here");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public String address() {
    return "127.0.0.1:" + server.getLocalPort();
  }

  @Override
  public void close() throws IOException {
    for (Socket filler : fillers) filler.close();
    server.close();
  }
}
