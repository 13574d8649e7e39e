package dev.fulcrum.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.RawTcpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TcpStreamingTest {
  private static final long MIB = 1024 * 1024;

  @ParameterizedTest
  @ValueSource(strings = {"nio", "streams"})
  void sixtyFourMebibytesStreamThroughBothWaysByteExact(String engine) throws Exception {
    try (RawTcpServer echo = RawTcpServer.echo();
        L4Fixture f = new L4Fixture(engine, 0, "health-check.type = tcp", List.of(echo.address()));
        Socket client = new Socket("127.0.0.1", f.port())) {
      client.setSoTimeout(30_000);
      long size = 64 * MIB;
      CompletableFuture<Long> sent = CompletableFuture.supplyAsync(() -> send(client, size, 42));
      CRC32 received = new CRC32();
      long count = drain(client.getInputStream(), received);
      assertEquals(size, count);
      assertEquals(sent.get(30, TimeUnit.SECONDS), received.getValue(), "checksum of echoed bytes");
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"nio", "streams"})
  void slowBackendPushesBackInsteadOfBeingBufferedWhole(String engine) throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    CompletableFuture<Long> backendCount = new CompletableFuture<>();
    CompletableFuture<Long> checksum = new CompletableFuture<>();
    try (RawTcpServer paused = new RawTcpServer(socket -> {
          try {
            release.await();
          } catch (InterruptedException e) {
            return;
          }
          // Health checks connect here too and send nothing; only the client's connection carries bytes.
          CRC32 crc = new CRC32();
          long n = drain(socket.getInputStream(), crc);
          if (n > 0) {
            backendCount.complete(n);
            checksum.complete(crc.getValue());
          }
        });
        L4Fixture f = new L4Fixture(engine, 0, "health-check.type = tcp", List.of(paused.address()))) {
      Payload payload = new Payload(256 * MIB, 7);
      try (SocketChannel client = SocketChannel.open(new InetSocketAddress("127.0.0.1", f.port()))) {
        client.configureBlocking(false);
        long lastProgress = System.nanoTime();
        while (System.nanoTime() - lastProgress < TimeUnit.SECONDS.toNanos(1)) {
          if (payload.writeTo(client) > 0) lastProgress = System.nanoTime();
        }
        long accepted = payload.written;
        // Socket buffers on both loopback hops take some megabytes; anything near the payload means buffering.
        assertTrue(accepted < 64 * MIB, "balancer accepted " + accepted / MIB + " MiB while the backend read nothing");
        release.countDown();
        client.configureBlocking(true);
        while (payload.written < payload.size) payload.writeTo(client);
        client.shutdownOutput();
        assertEquals(payload.size, backendCount.get(60, TimeUnit.SECONDS));
        assertEquals(payload.crc.getValue(), checksum.get());
      }
    }
  }

  /** Seeded random bytes produced 64 KiB at a time, with a checksum of everything produced. */
  private static final class Payload {
    final long size;
    final Random random;
    final CRC32 crc = new CRC32();
    final ByteBuffer chunk = ByteBuffer.allocate(64 * 1024).limit(0);
    long written;

    Payload(long size, long seed) {
      this.size = size;
      this.random = new Random(seed);
    }

    int writeTo(SocketChannel channel) throws IOException {
      if (!chunk.hasRemaining()) {
        chunk.clear();
        random.nextBytes(chunk.array());
        crc.update(chunk.array());
      }
      int n = channel.write(chunk);
      written += n;
      return n;
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"nio", "streams"})
  void halfCloseLetsTheBackendReplyAfterTheClientStoppedSending(String engine) throws Exception {
    try (RawTcpServer counting = new RawTcpServer(socket -> {
          long n = drain(socket.getInputStream(), new CRC32());
          socket.getOutputStream().write(("received " + n + " bytes").getBytes(StandardCharsets.US_ASCII));
          socket.shutdownOutput();
        });
        L4Fixture f = new L4Fixture(engine, 0, "health-check.type = tcp", List.of(counting.address()));
        Socket client = new Socket("127.0.0.1", f.port())) {
      client.setSoTimeout(10_000);
      client.getOutputStream().write(new byte[12345]);
      client.shutdownOutput();
      String reply = new String(client.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
      assertEquals("received 12345 bytes", reply);
      Eventually.await(Duration.ofSeconds(5), "connection counted closed",
          () -> f.status().backends().get(0).activeConnections() == 0);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"nio", "streams"})
  void backendGivenByHostNameIsLookedUpAndReached(String engine) throws Exception {
    try (RawTcpServer echo = RawTcpServer.echo();
        L4Fixture f = new L4Fixture(engine, 0, "health-check.type = tcp",
            List.of(echo.address().replace("127.0.0.1", "localhost")));
        Socket client = new Socket("127.0.0.1", f.port())) {
      client.setSoTimeout(10_000);
      client.getOutputStream().write("ping".getBytes(StandardCharsets.US_ASCII));
      client.shutdownOutput();
      assertEquals("ping", new String(client.getInputStream().readAllBytes(), StandardCharsets.US_ASCII));
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"nio", "streams"})
  void backendResetMidStreamClosesTheClientAndIsCountedClosed(String engine) throws Exception {
    try (RawTcpServer resetting = new RawTcpServer(socket -> {
          // health checks connect and close without a byte; the client's connection sends some, then is reset
          if (socket.getInputStream().read() < 0) return;
          socket.setSoLinger(true, 0);
        });
        L4Fixture f = new L4Fixture(engine, 0, "health-check.type = tcp", List.of(resetting.address()));
        Socket client = new Socket("127.0.0.1", f.port())) {
      client.setSoTimeout(10_000);
      client.getOutputStream().write(new byte[1000]);
      try {
        assertEquals(-1, client.getInputStream().read(), "no data from a backend that was reset");
      } catch (java.net.SocketException reset) {
        // the reset passed on as a reset: closed either way
      }
      Eventually.await(Duration.ofSeconds(5), "connection counted closed",
          () -> f.status().backends().get(0).activeConnections() == 0 && f.fulcrum.tcpListener("l4").openConnections() == 0);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"nio", "streams"})
  void clientResetMidStreamClosesTheBackendSide(String engine) throws Exception {
    CompletableFuture<Long> backendReadBeforeClose = new CompletableFuture<>();
    try (RawTcpServer reading = new RawTcpServer(socket -> {
          long n;
          try {
            n = drain(socket.getInputStream(), new CRC32());
          } catch (java.net.SocketException reset) {
            n = -1;
          }
          if (n != 0) backendReadBeforeClose.complete(n);
        });
        L4Fixture f = new L4Fixture(engine, 0, "health-check.type = tcp", List.of(reading.address()))) {
      try (Socket client = new Socket("127.0.0.1", f.port())) {
        client.getOutputStream().write(new byte[1000]);
        client.getOutputStream().flush();
        Eventually.await(Duration.ofSeconds(5), "backend connected", () -> f.status().backends().get(0).activeConnections() == 1);
        client.setSoLinger(true, 0);
      }
      backendReadBeforeClose.get(5, TimeUnit.SECONDS);
      Eventually.await(Duration.ofSeconds(5), "connection counted closed",
          () -> f.status().backends().get(0).activeConnections() == 0 && f.fulcrum.tcpListener("l4").openConnections() == 0);
    }
  }

  private static long send(Socket socket, long size, long seed) {
    try {
      Random random = new Random(seed);
      byte[] chunk = new byte[64 * 1024];
      CRC32 crc = new CRC32();
      OutputStream out = socket.getOutputStream();
      for (long done = 0; done < size; done += chunk.length) {
        random.nextBytes(chunk);
        crc.update(chunk);
        out.write(chunk);
      }
      socket.shutdownOutput();
      return crc.getValue();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static long drain(InputStream in, CRC32 crc) throws IOException {
    byte[] buffer = new byte[64 * 1024];
    long total = 0;
    for (int n; (n = in.read(buffer)) >= 0; ) {
      crc.update(buffer, 0, n);
      total += n;
    }
    return total;
  }
}
