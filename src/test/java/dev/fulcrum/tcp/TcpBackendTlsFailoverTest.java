package dev.fulcrum.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.testing.PoolHealth;
import dev.fulcrum.testing.RawTcpServer;
import dev.fulcrum.testing.TestCertificates;
import dev.fulcrum.testing.TestConfig;
import dev.fulcrum.testing.TlsClients;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * An L4 listener re-encrypting to a pool of two TLS backends, one of which presents a certificate the pool does not
 * trust: a failed handshake is a failed connect, and the next backend is tried with the client untouched, on both
 * engines. The rogue backend passes its first (health) check with the good certificate, so it stays routed and every
 * later connection to it meets the untrusted one.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ParameterizedClass(name = "engine = {0}")
@ValueSource(strings = {"nio", "streams"})
class TcpBackendTlsFailoverTest {
  private static final int CONNECTIONS = 12;

  @Parameter String engine;

  private Path dir;
  private RawTcpServer good;
  private RawTcpServer rogue;
  private final AtomicInteger rogueConnections = new AtomicInteger();
  private final AtomicInteger untrustedHandshakes = new AtomicInteger();
  private Fulcrum fulcrum;

  @BeforeAll
  void backends() throws IOException {
    dir = Files.createTempDirectory("fulcrum-tls-failover");
    TestCertificates.selfSigned(dir, "good", true, "backend.internal");
    TestCertificates.selfSigned(dir, "untrusted", true, "backend.internal");
    SSLContext trusted = TlsClients.server(dir, "good");
    SSLContext untrusted = TlsClients.server(dir, "untrusted");
    good = new RawTcpServer(socket -> echo(trusted, socket, "good"));
    rogue = new RawTcpServer(socket -> {
      boolean first = rogueConnections.incrementAndGet() == 1;
      if (!first) untrustedHandshakes.incrementAndGet();
      echo(first ? trusted : untrusted, socket, "rogue");
    });
  }

  /** Answers each line with NAME:line, over TLS. */
  private static void echo(SSLContext context, Socket plain, String name) throws IOException {
    try (SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket(plain, null, plain.getPort(), true)) {
      socket.setUseClientMode(false);
      socket.setSoTimeout(10_000);
      socket.startHandshake();
      var in = new java.io.BufferedReader(new java.io.InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
      for (String line; (line = in.readLine()) != null; ) {
        socket.getOutputStream().write((name + ":" + line + "\n").getBytes(StandardCharsets.UTF_8));
        socket.getOutputStream().flush();
      }
    }
  }

  @AfterAll
  void closeBackends() throws IOException {
    good.close();
    rogue.close();
  }

  @BeforeParameterizedClassInvocation(injectArguments = false)
  void start() {
    rogueConnections.set(0);
    untrustedHandshakes.set(0);
    fulcrum = Fulcrum.start(TestConfig.of("""
        fulcrum.pools.pair {
          backends = ["%s", "%s"]
          strategy = round-robin
          tls { ca-file = "%s", server-name = backend.internal }
          # checked once (the rogue then shows the good certificate) and never taken down by the failures below
          health-check { type = tcp, interval = 1h, timeout = 15s, rise = 1, fall = 100 }
          outlier-detection { consecutive-local-origin-failures = 0, consecutive-gateway-errors = 0 }
        }
        fulcrum.listeners.tcp.front { bind = "127.0.0.1:0", pool = pair, engine = %s, connect-attempts = 2 }
        """.formatted(rogue.address(), good.address(), dir.resolve("good.pem"), engine)));
    PoolHealth.awaitAllUp(fulcrum, "pair", 2);
  }

  @AfterParameterizedClassInvocation(injectArguments = false)
  void stop() throws Exception {
    if (fulcrum != null) fulcrum.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  @Test
  void everyConnectionReachesTheTrustedBackend() throws Exception {
    int port = fulcrum.tcpListener("front").localAddress().getPort();
    for (int i = 0; i < CONNECTIONS; i++) {
      try (Socket socket = new Socket("127.0.0.1", port)) {
        socket.setSoTimeout(10_000);
        socket.getOutputStream().write(("hello " + i + "\n").getBytes(StandardCharsets.UTF_8));
        var in = new java.io.BufferedReader(new java.io.InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
        assertEquals("good:hello " + i, in.readLine(), "connection " + i + " on the " + engine + " engine");
      }
    }
    // round-robin over two: about half the connections met the untrusted certificate first
    assertTrue(untrustedHandshakes.get() >= CONNECTIONS / 2 - 1,
        "the rogue backend was tried " + untrustedHandshakes.get() + " times");
  }
}
