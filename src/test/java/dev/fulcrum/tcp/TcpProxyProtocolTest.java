package dev.fulcrum.tcp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.http.wire.ProxyProtocol;
import dev.fulcrum.testing.PoolHealth;
import dev.fulcrum.testing.RawTcpServer;
import dev.fulcrum.testing.TestConfig;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** L4 listeners that begin each backend connection with a PROXY v2 header naming the client, on both engines. */
class TcpProxyProtocolTest {
  @ParameterizedTest
  @ValueSource(strings = {"nio", "streams"})
  void theBackendReadsWhoTheClientIsBeforeItsBytes(String engine) throws Exception {
    CompletableFuture<byte[]> received = new CompletableFuture<>();
    try (RawTcpServer backend = new RawTcpServer(socket -> {
      byte[] first = socket.getInputStream().readNBytes(16 + 12 + 5);
      if (first.length > 0) received.complete(first);
      socket.getOutputStream().write("done".getBytes(StandardCharsets.ISO_8859_1));
    })) {
      Fulcrum fulcrum = Fulcrum.start(TestConfig.of("""
          fulcrum.pools.web { backends = ["%s"], health-check.type = tcp }
          fulcrum.listeners.tcp.l4 { bind = "127.0.0.1:0", pool = web, engine = %s, send-proxy-protocol = v2 }
          """.formatted(backend.address(), engine)));
      try {
        PoolHealth.awaitAllUp(fulcrum, "web", 1);
        int port = fulcrum.tcpListener("l4").localAddress().getPort();
        try (Socket client = new Socket("127.0.0.1", port)) {
          client.setSoTimeout(10_000);
          client.getOutputStream().write("hello".getBytes(StandardCharsets.ISO_8859_1));
          assertEquals("done", new String(client.getInputStream().readNBytes(4), StandardCharsets.ISO_8859_1));
          byte[] bytes = received.get(10, TimeUnit.SECONDS);
          ProxyProtocol.Header header = (ProxyProtocol.Header) ProxyProtocol.parse(ByteBuffer.wrap(bytes), 0, bytes.length);
          assertEquals(new InetSocketAddress("127.0.0.1", client.getLocalPort()), header.source());
          assertArrayEquals("hello".getBytes(StandardCharsets.ISO_8859_1), java.util.Arrays.copyOfRange(bytes, 28, 33));
        }
      } finally {
        fulcrum.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
      }
    }
  }
}
