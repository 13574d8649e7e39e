package dev.fulcrum.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fulcrum.Fulcrum;
import dev.fulcrum.testing.AdminClient;
import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.GrpcTestServer;
import dev.fulcrum.testing.HttpBackend;
import dev.fulcrum.testing.PoolHealth;
import dev.fulcrum.testing.TestCertificates;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.testing.protobuf.SimpleRequest;
import io.grpc.testing.protobuf.SimpleServiceGrpc;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A grpc-java client over h2c with prior knowledge against Fulcrum: the proxy's own answers to gRPC calls are HTTP 200
 * with the status in trailers-only form (UNAVAILABLE, DEADLINE_EXCEEDED, PERMISSION_DENIED); a pool checked by the
 * gRPC health protocol follows its server's serving status in the admin API; the access log names HTTP/2.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GrpcProxyErrorsTest {
  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final ObjectMapper JSON = new ObjectMapper();

  private Path dir;
  private ActorSystem<Void> backends;
  private GrpcTestServer grpc;
  /** An HTTP/1.1 backend that answers its health checks and never a call. */
  private HttpBackend slow;
  private Fulcrum fulcrum;
  private final List<ManagedChannel> channels = new ArrayList<>();

  @BeforeAll
  void start() throws Exception {
    dir = Files.createTempDirectory("fulcrum-grpc-errors");
    backends = ActorSystem.create(Behaviors.empty(), "backends");
    grpc = GrpcTestServer.plain();
    grpc.health("grpc.testing.SimpleService", ServingStatus.SERVING);
    slow = new HttpBackend(backends, request -> request.getUri().path().equals("/health")
        ? CompletableFuture.completedFuture(org.apache.pekko.http.javadsl.model.HttpResponse.create())
        : new CompletableFuture<>());
    fulcrum = Fulcrum.start(ProxyTests.config("nio", """
        fulcrum.access-log { path = "%s", format = json }
        fulcrum.pools.grpc {
          backends = ["%s"]
          health-check { type = grpc, service = "grpc.testing.SimpleService", interval = 200ms, rise = 1, fall = 1 }
        }
        fulcrum.pools.dead.backends = ["127.0.0.1:9"]
        fulcrum.pools.slow.backends = ["%s"]
        fulcrum.listeners.http.ok {
          bind = "127.0.0.1:0", routes = [{pool = grpc}], http2.cleartext = on
          firewall.deny-paths = ["/grpc.testing.SimpleService/ServerStreamingRpc"]
        }
        fulcrum.listeners.http.noroute { bind = "127.0.0.1:0", routes = [{pool = grpc, host = "elsewhere.example"}], http2.cleartext = on }
        fulcrum.listeners.http.dead { bind = "127.0.0.1:0", routes = [{pool = dead}], http2.cleartext = on }
        fulcrum.listeners.http.slow { bind = "127.0.0.1:0", routes = [{pool = slow}], http2.cleartext = on }
        """.formatted(dir.resolve("access.log").toString().replace("\\", "\\\\"), grpc.address(), slow.address())));
    PoolHealth.awaitAllUp(fulcrum, "grpc", 1);
    PoolHealth.awaitAllUp(fulcrum, "slow", 1);
  }

  @AfterAll
  void stop() throws Exception {
    channels.forEach(ManagedChannel::shutdownNow);
    try {
      ProxyTests.stop(fulcrum, backends); // the slow backend goes with its actor system
    } finally {
      grpc.close();
    }
  }

  private SimpleServiceGrpc.SimpleServiceBlockingStub stub(String listener) {
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", fulcrum.httpListener(listener).localAddress().getPort())
        .usePlaintext().build();
    channels.add(channel);
    return SimpleServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
  }

  private static SimpleRequest request(String text) {
    return SimpleRequest.newBuilder().setRequestMessage(text).build();
  }

  private static Status failure(Runnable call) {
    return assertThrows(StatusRuntimeException.class, call::run).getStatus();
  }

  /** A gRPC backend behind an HTTP/2 pool (protocol = h2c) is the backend-side work of issue 14, not tested here. */
  @Test
  void theAccessLogNamesTheClientsHttp2() {
    failure(() -> stub("dead").unaryRpc(request("logged")));
    JsonNode line = Eventually.await(WAIT, "the call's access-log line",
        () -> lines("/grpc.testing.SimpleService/UnaryRpc", 200).stream()
            .filter(l -> l.path("listener").asText().equals("dead")).toList(),
        l -> !l.isEmpty()).get(0);
    assertEquals("HTTP/2", line.get("protocol").asText());
    assertEquals("POST", line.get("method").asText());
  }

  /**
   * A preface in pieces: its first 18 bytes ("PRI * HTTP/2.0" and an empty line) parse as an HTTP/1.1 head, and were
   * answered as one (or the connection dropped) when they came in a read of their own.
   */
  @Test
  void anH2cPrefaceInPiecesIsStillHttp2() throws Exception {
    try (java.net.Socket socket = new java.net.Socket("127.0.0.1", fulcrum.httpListener("dead").localAddress().getPort())) {
      socket.setTcpNoDelay(true);
      byte[] preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
      socket.getOutputStream().write(preface, 0, 18);
      socket.getOutputStream().flush();
      socket.setSoTimeout(300);
      assertThrows(java.net.SocketTimeoutException.class, () -> socket.getInputStream().read(),
          "an answer to half a preface");
      socket.getOutputStream().write(preface, 18, preface.length - 18);
      socket.getOutputStream().write(new byte[] {0, 0, 0, 4, 0, 0, 0, 0, 0}); // an empty SETTINGS frame
      socket.setSoTimeout(10_000);
      byte[] head = socket.getInputStream().readNBytes(9);
      assertEquals(9, head.length);
      assertEquals(4, head[3], "the first frame is SETTINGS"); // type 4
    }
  }

  @Test
  void noRouteIsUnavailable() {
    Status status = failure(() -> stub("noroute").unaryRpc(request("x")));
    assertEquals(Status.Code.UNAVAILABLE, status.getCode(), status.toString());
    assertTrue(status.getDescription() != null && status.getDescription().contains("route"), status.toString());
  }

  @Test
  void noBackendUpIsUnavailable() {
    Status status = failure(() -> stub("dead").unaryRpc(request("x")));
    assertEquals(Status.Code.UNAVAILABLE, status.getCode(), status.toString());
  }

  @Test
  void aFirewallDenyIsPermissionDenied() {
    Status status = failure(() -> stub("ok").serverStreamingRpc(request("x")).hasNext());
    assertEquals(Status.Code.PERMISSION_DENIED, status.getCode(), status.toString());
  }

  private ManagedChannel channelOf(String listener) {
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", fulcrum.httpListener(listener).localAddress().getPort())
        .usePlaintext().build();
    channels.add(channel);
    return channel;
  }

  /**
   * The proxy's own DEADLINE_EXCEEDED: curl sends the grpc-timeout (grpc-java's client would time the call out itself
   * at the same moment, hiding who answered) and sees HTTP 200 with grpc-status 4 in the head, trailers-only.
   */
  @Test
  void aGrpcTimeoutShorterThanTheBackendIsDeadlineExceeded() {
    int port = fulcrum.httpListener("slow").localAddress().getPort();
    byte[] empty = {0, 0, 0, 0, 0};
    Path body = dir.resolve("empty-call");
    try {
      Files.write(body, empty);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    String out = TestCertificates.run(List.of("curl", "-sS", "--max-time", "20", "--http2-prior-knowledge", "-D", "-",
        "-o", "/dev/null", "-H", "content-type: application/grpc", "-H", "te: trailers", "-H", "grpc-timeout: 300m",
        "--data-binary", "@" + body, "http://127.0.0.1:" + port + "/grpc.testing.SimpleService/UnaryRpc"));
    assertTrue(out.startsWith("HTTP/2 200"), out);
    assertTrue(out.contains("grpc-status: 4"), out);
    assertTrue(out.contains("grpc-timeout passed"), out);
    // and a grpc-java client's call with a short deadline ends so too
    Status status = failure(() -> SimpleServiceGrpc.newBlockingStub(channelOf("slow")).withDeadlineAfter(300, TimeUnit.MILLISECONDS)
        .unaryRpc(request("x")));
    assertEquals(Status.Code.DEADLINE_EXCEEDED, status.getCode(), status.toString());
  }

  @Test
  void theGrpcHealthCheckFollowsTheServingStatusInTheAdminApi() {
    AdminClient admin = new AdminClient(fulcrum.adminAddress(), Optional.empty());
    try {
      grpc.health("grpc.testing.SimpleService", ServingStatus.NOT_SERVING);
      Eventually.await(WAIT, "the grpc backend down", () -> admin.get("/api/pools/grpc").json().get("backends").get(0),
          b -> b.get("health").asText().equals("down"));
      assertEquals("grpc", admin.get("/api/pools/grpc/health-check").json().get("healthCheck").get("type").asText());
      grpc.health("grpc.testing.SimpleService", ServingStatus.SERVING);
      Eventually.await(WAIT, "the grpc backend up again", () -> admin.get("/api/pools/grpc").json().get("backends").get(0),
          b -> b.get("health").asText().equals("up"));
    } finally {
      grpc.health("grpc.testing.SimpleService", ServingStatus.SERVING);
    }
  }

  /** The JSON access-log lines for {@code uri} with {@code status}. */
  private List<JsonNode> lines(String uri, int status) {
    List<JsonNode> found = new ArrayList<>();
    try {
      for (String text : Files.readAllLines(dir.resolve("access.log"))) {
        JsonNode node = JSON.readTree(text);
        if (node.path("uri").asText().equals(uri) && node.path("status").asInt() == status) found.add(node);
      }
    } catch (java.io.IOException e) {
      return List.of();
    }
    return found;
  }
}
