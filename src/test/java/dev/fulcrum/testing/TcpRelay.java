package dev.fulcrum.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A TCP relay a test controls, between a client (a node, a journal connection pool) and a server: {@link #up()}
 * forwards, {@link #down()} resets every open connection and refuses new ones (a database that stopped), and
 * {@link #blackhole()} keeps connections open but holds their bytes until the next {@code up()} (a network that
 * drops packets, which TCP then delivers late). Test code only: one thread per direction and connection.
 */
public final class TcpRelay implements AutoCloseable {
  public enum Mode { UP, DOWN, BLACKHOLE }

  private final ServerSocket server;
  private final InetSocketAddress target;
  private final Set<Socket> open = ConcurrentHashMap.newKeySet();
  private final Set<InetAddress> blocked = ConcurrentHashMap.newKeySet();
  private final Object modeChanged = new Object();
  private volatile Mode mode = Mode.UP;
  private volatile boolean closed;

  public TcpRelay(InetAddress bind, InetSocketAddress target) {
    this.target = target;
    try {
      server = new ServerSocket(0, 50, bind);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Thread acceptor = new Thread(this::accept, "relay-accept-" + port());
    acceptor.setDaemon(true);
    acceptor.start();
  }

  public int port() {
    return server.getLocalPort();
  }

  public Mode mode() {
    return mode;
  }

  public void up() {
    setMode(Mode.UP);
  }

  public void down() {
    setMode(Mode.DOWN);
    for (Socket s : open) closeQuietly(s);
  }

  public void blackhole() {
    setMode(Mode.BLACKHOLE);
  }

  /**
   * Refuses connections from {@code source} and resets the open ones: with each peer on its own loopback address
   * (Artery's outbound-client-hostname), one side of a network partition.
   */
  public void block(InetAddress source) {
    blocked.add(source);
    for (Socket s : open) if (source.equals(s.getInetAddress()) && s.getLocalPort() == port()) closeQuietly(s);
  }

  public void unblockAll() {
    blocked.clear();
  }

  private void setMode(Mode next) {
    synchronized (modeChanged) {
      mode = next;
      modeChanged.notifyAll();
    }
  }

  private void accept() {
    while (!closed) {
      Socket client;
      try {
        client = server.accept();
      } catch (IOException e) {
        return;
      }
      if (mode == Mode.DOWN || blocked.contains(client.getInetAddress())) {
        closeQuietly(client);
        continue;
      }
      try {
        Socket upstream = new Socket();
        upstream.connect(target, 2000);
        open.add(client);
        open.add(upstream);
        pump(client, upstream);
        pump(upstream, client);
      } catch (IOException e) {
        closeQuietly(client);
      }
    }
  }

  private void pump(Socket from, Socket to) {
    Thread t = new Thread(() -> {
      byte[] buffer = new byte[16 * 1024];
      try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
        int n;
        while ((n = in.read(buffer)) >= 0) {
          awaitNotBlackholed();
          if (mode == Mode.DOWN) break;
          out.write(buffer, 0, n);
          out.flush();
        }
      } catch (IOException | InterruptedException e) {
        // the connection ends; so does its partner below
      } finally {
        closeQuietly(from);
        closeQuietly(to);
        open.remove(from);
        open.remove(to);
      }
    }, "relay-pump");
    t.setDaemon(true);
    t.start();
  }

  private void awaitNotBlackholed() throws InterruptedException {
    synchronized (modeChanged) {
      while (mode == Mode.BLACKHOLE && !closed) modeChanged.wait();
    }
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException ignored) {
      // closing anyway
    }
  }

  @Override
  public void close() {
    closed = true;
    setMode(Mode.DOWN);
    try {
      server.close();
    } catch (IOException ignored) {
      // closing anyway
    }
    for (Socket s : open) closeQuietly(s);
  }
}
