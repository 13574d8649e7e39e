package dev.fulcrum.http;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.typesafe.config.ConfigFactory;
import dev.fulcrum.Fulcrum;
import dev.fulcrum.testing.HttpBackend;
import dev.fulcrum.routing.RoutingTable;
import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.PoolHealth;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.zip.CRC32;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.stream.javadsl.Sink;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;

/**
 * 1 GiB up and 1 GiB down through the proxy, generated on the fly and checked with CRC32. Client, proxy and backend
 * share one JVM with a 1 GiB heap (surefire's argLine), so any buffering of a whole body would fail the test.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@OnBothEngines
class HttpStreamingTest {
  @Parameter String engine;

  private static final long GIB = 1L << 30;

  private ActorSystem<Void> backends;
  private HttpBackend backend;
  private Fulcrum fulcrum;
  private int port;
  private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  @BeforeParameterizedClassInvocation(injectArguments = false)
  void start() {
    backends = ActorSystem.create(Behaviors.empty(), "backends", ConfigFactory.parseString(
        "pekko.http.server { parsing.max-content-length = infinite, request-timeout = infinite }"));
    backend = new HttpBackend(backends, request -> {
      String path = request.getUri().path();
      if (path.equals("/download")) {
        long size = Long.parseLong(request.getUri().query().get("size").orElseThrow());
        return CompletableFuture.completedFuture(org.apache.pekko.http.javadsl.model.HttpResponse.create()
            .withEntity(HttpEntities.create(ContentTypes.APPLICATION_OCTET_STREAM, size, PatternBytes.source(size))));
      }
      if (path.equals("/upload")) {
        CompletionStage<CRC32> crc = request.entity().getDataBytes().runWith(Sink.fold(new CRC32(), (c, bytes) -> {
          c.update(bytes.asByteBuffer());
          return c;
        }), backends);
        return crc.thenApply(c -> org.apache.pekko.http.javadsl.model.HttpResponse.create()
            .withEntity(Long.toHexString(c.getValue())));
      }
      return CompletableFuture.completedFuture(org.apache.pekko.http.javadsl.model.HttpResponse.create().withEntity("up"));
    });
    fulcrum = Fulcrum.start(ProxyTests.config(engine,
        """
        fulcrum.pools.files.backends = ["%s"]
        fulcrum.listeners.http.main {
          bind = "127.0.0.1:0"
          routes = [{pool = files}]
          limits.max-body-size = 2g
        }
        """.formatted(backend.address())));
    port = fulcrum.httpListener("main").localAddress().getPort();
    PoolHealth.awaitAllUp(fulcrum, "files", 1);
  }

  @AfterParameterizedClassInvocation(injectArguments = false)
  void stop() throws Exception {
    ProxyTests.stop(fulcrum, backends);
  }

  @Test
  void oneGibibyteUploadIsStreamedIntact() throws Exception {
    HttpResponse<String> response = client.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/upload"))
            .POST(HttpRequest.BodyPublishers.ofInputStream(() -> PatternBytes.stream(GIB)))
            .build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, response.statusCode(), response.body());
    assertEquals(Long.toHexString(PatternBytes.crc(GIB)), response.body(), "the backend saw exactly the bytes sent");
  }

  @Test
  void clientsThatHangUpMidDownloadLeaveNothingInFlight() throws Exception {
    for (int i = 0; i < 20; i++) {
      try (RawHttp http = new RawHttp(port)) {
        http.send("GET /download?size=" + GIB + " HTTP/1.1\r\nHost: x\r\n\r\n");
        assertEquals(200, http.readHead().status());
        http.readBodyBytes(64 * 1024);
      }
    }
    RoutingTable table = fulcrum.tables().of("files").current();
    Eventually.await(Duration.ofSeconds(10), "every abandoned download counted finished",
        () -> table.get(0).stats().inFlight() == 0);
    assertEquals("up", RawHttp.get(port, "x", "/").body(), "the pool still serves");
  }

  @Test
  void oneGibibyteDownloadIsStreamedIntact() throws Exception {
    HttpResponse<InputStream> response = client.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/download?size=" + GIB)).build(),
        HttpResponse.BodyHandlers.ofInputStream());
    assertEquals(200, response.statusCode());
    assertEquals(String.valueOf(GIB), response.headers().firstValue("content-length").orElseThrow());
    CRC32 crc = new CRC32();
    long received = 0;
    try (InputStream body = response.body()) {
      byte[] buffer = new byte[256 * 1024];
      for (int n = body.read(buffer); n >= 0; n = body.read(buffer)) {
        crc.update(buffer, 0, n);
        received += n;
      }
    }
    assertEquals(GIB, received);
    assertEquals(PatternBytes.crc(GIB), crc.getValue());
  }
}
