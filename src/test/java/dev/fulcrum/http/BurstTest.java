package dev.fulcrum.http;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.sun.management.UnixOperatingSystemMXBean;
import dev.fulcrum.Fulcrum;
import dev.fulcrum.testing.HttpBackend;
import dev.fulcrum.testing.NamedBackend;
import dev.fulcrum.testing.PoolHealth;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** A burst of thousands of concurrent keep-alive clients on the default settings is answered, none refused or hung. */
class BurstTest {
  private static final int CLIENTS = 3000;
  private static final byte[] REQUEST =
      "GET /burst HTTP/1.1\r\nHost: burst\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);

  @Test
  void threeThousandConcurrentKeepAliveRequestsAreAllAnswered() throws Exception {
    long openFiles = ((UnixOperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getMaxFileDescriptorCount();
    // the clients, the proxy's two sides and the backends all live in this JVM
    Assumptions.assumeTrue(openFiles >= 3 * CLIENTS, "needs an open-file limit of " + 3 * CLIENTS + ", have " + openFiles);
    ActorSystem<Void> backends = ActorSystem.create(Behaviors.empty(), "backends");
    Fulcrum fulcrum = null;
    try {
      // backends that answer at once and keep nothing: the burst measures the proxy, not them
      HttpBackend a = NamedBackend.start(backends, "a");
      HttpBackend b = NamedBackend.start(backends, "b");
      HttpBackend c = NamedBackend.start(backends, "c");
      // nothing but the pool and the listener: every limit, queue and timeout is the default
      fulcrum = Fulcrum.start(ProxyTests.config("nio", """
          fulcrum.pools.web.backends = ["%s", "%s", "%s"]
          fulcrum.listeners.http.main { bind = "127.0.0.1:0", routes = [{pool = web}] }
          """.formatted(a.address(), b.address(), c.address())));
      PoolHealth.awaitAllUp(fulcrum, "web", 3);
      int port = fulcrum.httpListener("main").localAddress().getPort();
      assertEquals(CLIENTS, burst(port, TimeUnit.SECONDS.toNanos(90)), "clients answered 200");
    } finally {
      ProxyTests.stop(fulcrum, backends);
    }
  }

  /**
   * Connects all clients at once, each sending one request as soon as it is connected and reading its answer on the
   * same kept-alive connection; how many got a 200 by the deadline.
   */
  private static int burst(int port, long timeoutNanos) throws IOException {
    InetSocketAddress address = new InetSocketAddress("127.0.0.1", port);
    int answered = 0;
    try (Selector selector = Selector.open()) {
      for (int i = 0; i < CLIENTS; i++) {
        SocketChannel channel = SocketChannel.open();
        channel.configureBlocking(false);
        channel.connect(address);
        channel.register(selector, SelectionKey.OP_CONNECT, new Client());
      }
      long deadline = System.nanoTime() + timeoutNanos;
      while (answered < CLIENTS && System.nanoTime() < deadline) {
        selector.select(100);
        for (SelectionKey key : selector.selectedKeys()) {
          Client client = (Client) key.attachment();
          SocketChannel channel = (SocketChannel) key.channel();
          if (key.isConnectable() && channel.finishConnect()) {
            channel.write(ByteBuffer.wrap(REQUEST));
            key.interestOps(SelectionKey.OP_READ);
          } else if (key.isReadable() && client.read(channel)) {
            answered++;
            key.cancel();
          }
        }
        selector.selectedKeys().clear();
      }
      for (SelectionKey key : selector.keys()) key.channel().close();
    }
    return answered;
  }

  /** Reads one response until its head says 200 and its Content-Length bytes have come. */
  private static final class Client {
    private final StringBuilder text = new StringBuilder();
    private final ByteBuffer buffer = ByteBuffer.allocate(1024);

    boolean read(SocketChannel channel) throws IOException {
      buffer.clear();
      if (channel.read(buffer) < 0) throw new IOException("closed before an answer: " + text);
      text.append(new String(buffer.array(), 0, buffer.position(), StandardCharsets.ISO_8859_1));
      int headEnd = text.indexOf("\r\n\r\n");
      if (headEnd < 0) return false;
      if (text.indexOf("HTTP/1.1 200") != 0) throw new IOException("not a 200: " + text);
      int at = text.indexOf("Content-Length: ");
      int length = Integer.parseInt(text.substring(at + 16, text.indexOf("\r\n", at)).trim());
      return text.length() - headEnd - 4 >= length;
    }
  }
}
