package dev.fulcrum.nio;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class NioServerTest {
  private final EventLoops loops = new EventLoops("server-test", 2);

  @AfterEach
  void stop() {
    loops.stop();
  }

  @Test
  void aThrowingAcceptCallbackClosesOnlyThatConnectionAndTheListenerGoesOn() throws Exception {
    AtomicInteger accepted = new AtomicInteger();
    NioServer server = NioServer.bind(loops, "127.0.0.1", 0, "test", (loop, channel) -> {
      if (accepted.incrementAndGet() == 1) throw new IllegalStateException("a bug in the first connection's handler");
      try {
        // a two-byte answer into an empty send buffer: does not block the loop
        channel.write(ByteBuffer.wrap("ok".getBytes(StandardCharsets.US_ASCII)));
        channel.close();
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }).toCompletableFuture().get(5, TimeUnit.SECONDS);

    try (Socket first = connect(server)) {
      assertEquals("", readAll(first), "the failed connection is closed");
    }
    assertEquals(1, server.acceptCallbackFailures());
    for (int i = 0; i < 3; i++) {
      try (Socket next = connect(server)) {
        assertEquals("ok", readAll(next));
      }
    }
    assertEquals(1, server.acceptCallbackFailures());
    server.unbind().toCompletableFuture().get(5, TimeUnit.SECONDS);
  }

  private static Socket connect(NioServer server) throws IOException {
    Socket socket = new Socket();
    socket.setSoTimeout(5_000);
    socket.connect(new InetSocketAddress("127.0.0.1", server.localAddress().getPort()), 5_000);
    return socket;
  }

  /** Everything up to the server's close; a read timeout fails the test. */
  private static String readAll(Socket socket) throws IOException {
    InputStream in = socket.getInputStream();
    return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
  }
}
