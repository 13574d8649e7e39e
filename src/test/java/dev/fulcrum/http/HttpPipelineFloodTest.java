package dev.fulcrum.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.testing.FulcrumProcess;
import dev.fulcrum.testing.HttpBackend;
import dev.fulcrum.testing.NamedBackend;
import dev.fulcrum.testing.RawHttp;
import dev.fulcrum.testing.TestConfig;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;

/**
 * Thousands of tiny requests pipelined in one write, against a freshly started node (its own JVM, so a crash shows
 * as an exit): Pekko HTTP's parser recurses per request in a chunk, and with Pekko's default read size this
 * overflowed the stack and stopped the JVM.
 */
@OnBothEngines
class HttpPipelineFloodTest {
  private static final int REQUESTS = 5000;
  private static final byte[] REQUEST = "GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

  @Parameter String engine;

  @TempDir Path dir;

  @Test
  void pipelinedFloodIsAnsweredInOrderAndTheNodeSurvives() throws Exception {
    ActorTestKit kit = ActorTestKit.create("flood-backend");
    int port = TestConfig.freePort();
    try (HttpBackend backend = NamedBackend.start(kit.system(), "b1")) {
      Path config = dir.resolve("fulcrum.conf");
      Files.writeString(config, "fulcrum.pools.p.backends = [\"" + backend.address() + "\"]\n"
          + "fulcrum.listeners.http.h { bind = \"127.0.0.1:" + port + "\", routes = [{pool = p}], engine = " + engine + " }\n"
          + "fulcrum.admin.bind = \"127.0.0.1:0\"\n");
      try (FulcrumProcess fulcrum = new FulcrumProcess(dir, "--config", config.toString())) {
        fulcrum.awaitStdout("http listener h on", Duration.ofSeconds(60));
        try (Socket client = new Socket("127.0.0.1", port)) {
          client.setSoTimeout(30_000);
          byte[] flood = new byte[REQUEST.length * REQUESTS];
          for (int i = 0; i < REQUESTS; i++) System.arraycopy(REQUEST, 0, flood, i * REQUEST.length, REQUEST.length);
          CompletableFuture<Void> sent = CompletableFuture.runAsync(() -> {
            try {
              client.getOutputStream().write(flood);
            } catch (java.io.IOException e) {
              throw new java.io.UncheckedIOException(e);
            }
          });
          assertEquals(REQUESTS, countResponses(client.getInputStream()), fulcrum.stdout() + fulcrum.stderr());
          sent.join();
        }
        assertTrue(fulcrum.isAlive(), "the node died:\n" + fulcrum.stdout() + fulcrum.stderr());
        assertEquals("b1", RawHttp.getOnce(port, "/").trim(), "still serving");
      }
    } finally {
      kit.shutdownTestKit();
    }
  }

  /** Counts "HTTP/1.1 200" status lines until that many arrived or the connection ends. */
  private static int countResponses(InputStream in) throws java.io.IOException {
    byte[] marker = "HTTP/1.1 200".getBytes(StandardCharsets.US_ASCII);
    byte[] buffer = new byte[64 * 1024];
    int matched = 0;
    int count = 0;
    for (int n; count < REQUESTS && (n = in.read(buffer)) >= 0; ) {
      for (int i = 0; i < n; i++) {
        matched = buffer[i] == marker[matched] ? matched + 1 : (buffer[i] == marker[0] ? 1 : 0);
        if (matched == marker.length) {
          count++;
          matched = 0;
        }
      }
    }
    return count;
  }
}
