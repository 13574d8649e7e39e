package dev.fulcrum.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.testing.HttpBackend;
import dev.fulcrum.testing.PoolHealth;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;

/** Idle timeouts on both sides of the proxy (the response timeout is in {@link HttpFailureTest}). */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@OnBothEngines
class HttpTimeoutsTest {
  @Parameter String engine;

  private ActorSystem<Void> backends;
  private HttpBackend stalling;
  private Fulcrum fulcrum;
  private int port;

  @BeforeParameterizedClassInvocation(injectArguments = false)
  void start() {
    backends = ActorSystem.create(Behaviors.empty(), "backends");
    stalling = new HttpBackend(backends, request -> {
      if (request.getUri().path().equals("/health")) return CompletableFuture.completedFuture(HttpResponse.create().withEntity("up"));
      // headers and 100 of the 1000 promised bytes, then silence
      Source<ByteString, ?> body = Source.single(ByteString.fromString("a".repeat(100))).concat(Source.never());
      return CompletableFuture.completedFuture(
          HttpResponse.create().withEntity(HttpEntities.create(ContentTypes.APPLICATION_OCTET_STREAM, 1000, body)));
    });
    fulcrum = Fulcrum.start(ProxyTests.config(engine,
        """
        fulcrum.pools.stalling.backends = ["%s"]
        fulcrum.listeners.http.main {
          bind = "127.0.0.1:0"
          client-idle-timeout = 700ms
          routes = [{pool = stalling, backend-idle-timeout = 500ms}]
        }
        """.formatted(stalling.address())));
    port = fulcrum.httpListener("main").localAddress().getPort();
    PoolHealth.awaitAllUp(fulcrum, "stalling", 1);
  }

  @AfterParameterizedClassInvocation(injectArguments = false)
  void stop() throws Exception {
    ProxyTests.stop(fulcrum, backends);
  }

  @Test
  void idleClientConnectionIsClosed() {
    try (RawHttp http = new RawHttp(port)) {
      long start = System.nanoTime();
      assertTrue(http.answeredWithin(Duration.ofSeconds(5)), "closed by the proxy");
      assertTrue(System.nanoTime() - start >= Duration.ofMillis(600).toNanos(), "not before the idle timeout");
    }
  }

  @Test
  void stalledBackendIsCutAndTheClientSeesATruncatedResponse() throws IOException {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(5_000);
      socket.getOutputStream().write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      long start = System.nanoTime();
      String received = readUntilClosed(socket.getInputStream());
      assertTrue(received.startsWith("HTTP/1.1 200 OK"), received);
      assertTrue(received.contains("Content-Length: 1000"), received);
      int body = received.length() - received.indexOf("\r\n\r\n") - 4;
      assertEquals(100, body, "only the bytes the backend sent");
      assertTrue(System.nanoTime() - start < Duration.ofSeconds(4).toNanos(), "cut by the backend idle timeout");
    }
  }

  private static String readUntilClosed(InputStream in) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] buffer = new byte[4096];
    try {
      for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) out.write(buffer, 0, n);
    } catch (java.net.SocketException reset) {
      // a reset after the partial body is also a way of cutting the response
    }
    return out.toString(StandardCharsets.ISO_8859_1);
  }
}
