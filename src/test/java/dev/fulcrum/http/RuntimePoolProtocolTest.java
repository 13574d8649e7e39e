package dev.fulcrum.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fulcrum.Fulcrum;
import dev.fulcrum.testing.AdminClient;
import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.GrpcTestServer;
import dev.fulcrum.testing.PoolHealth;
import dev.fulcrum.testing.TestConfig;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.testing.protobuf.SimpleRequest;
import io.grpc.testing.protobuf.SimpleServiceGrpc;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A pool's protocol to its backends set through the admin API: a pool created with {@code h2c} carries HTTP/1.1 and
 * gRPC (HTTP/2) clients to an h2c-only backend; set to http/1.1 at runtime, new requests are spoken HTTP/1.1 to it
 * (which it refuses: 502), and back to h2c they pass again. Journaled as events; mistakes refused naming the field.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RuntimePoolProtocolTest {
  private static final String TOKEN = "runtime-protocol-token";
  private GrpcTestServer backend;
  private Fulcrum fulcrum;
  private AdminClient admin;
  private ManagedChannel channel;
  private int port;

  @BeforeAll
  void start() throws Exception {
    backend = GrpcTestServer.plain();
    fulcrum = Fulcrum.start(TestConfig.of("""
        fulcrum.admin.token = "%1$s"
        fulcrum.health-check { type = tcp, interval = 300ms, timeout = 5s, rise = 1, fall = 1 }
        fulcrum.pools.base { backends = ["%2$s"] }
        fulcrum.pools.proxied { backends = ["%2$s"] }
        fulcrum.http.pools.proxied.send-proxy-protocol = v1
        fulcrum.http.max-attempts = 1
        fulcrum.listeners.http.l {
          bind = "127.0.0.1:0", engine = nio, http2.cleartext = on
          routes = [{path = "/base", pool = base}, {path = "/proxied", pool = proxied}]
        }
        """.formatted(TOKEN, backend.address())));
    admin = new AdminClient(fulcrum.adminAddress(), Optional.of(TOKEN));
    port = fulcrum.httpListener("l").localAddress().getPort();
    channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    AdminClient.Response created = admin.post("/api/pools", """
        {"name": "dyn", "backends": [{"address": "%s"}], "protocol": {"protocol": "h2c", "max-concurrent-streams": 20}}"""
        .formatted(backend.address()));
    assertEquals(201, created.status(), created.toString());
    assertEquals("h2c", created.json().path("protocol").path("protocol").asText(), created.toString());
    assertEquals(20, created.json().path("protocol").path("max-concurrent-streams").asInt(), created.toString());
    AdminClient.Response route = admin.post("/api/routes/l", "{\"name\": \"dyn\", \"path\": \"/\", \"pool\": \"dyn\"}");
    assertEquals(201, route.status(), route.toString());
    PoolHealth.awaitAllUp(fulcrum, "dyn", 1);
  }

  @AfterAll
  void stop() throws Exception {
    try {
      if (channel != null) channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
      if (fulcrum != null) fulcrum.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } finally {
      if (backend != null) backend.close();
    }
  }

  @Test
  void aPoolCreatedWithH2cCarriesBothClientsAndAChangeTakesEffectForNewRequests() {
    Eventually.await(Duration.ofSeconds(20), "gRPC through the h2c pool", () -> unary("one"), "echo:one"::equals);
    // an HTTP/1.1 client reaches the h2c-only backend too (grpc-java answers a non-gRPC request itself, not Fulcrum)
    RawHttp.Response plain = get("/plain");
    assertNotEquals(502, plain.status(), plain.toString());

    AdminClient.Response http1 = admin.put("/api/pools/dyn/protocol", "{\"protocol\": \"http/1.1\"}");
    assertEquals(200, http1.status(), http1.toString());
    assertEquals("http/1.1", http1.json().path("protocol").path("protocol").asText(), http1.toString());
    // spoken HTTP/1.1 now, the h2c-only backend gives up on the connection
    Eventually.await(Duration.ofSeconds(20), "HTTP/1.1 to the h2c backend", () -> get("/after").status(), s -> s == 502);
    String refused = unary("two");
    // (an HTTP/2 client's request to it: the backend's GOAWAY and close, with no HTTP/1.1 head, is a failure at once)
    assertTrue(refused.startsWith("UNAVAILABLE"), "the gRPC client is spoken for in HTTP/1.1 too: " + refused);

    AdminClient.Response h2c = admin.put("/api/pools/dyn/protocol", "\"h2c\"");
    assertEquals(200, h2c.status(), h2c.toString());
    assertEquals(100, h2c.json().path("protocol").path("max-concurrent-streams").asInt(), h2c.toString());
    Eventually.await(Duration.ofSeconds(20), "h2c again", () -> unary("three"), "echo:three"::equals);
    RawHttp.Response again = get("/again");
    assertNotEquals(502, again.status(), again.toString());

    JsonNode events = admin.get("/api/pools/dyn/events").json();
    assertEquals("h2c", events.get(0).path("pool").path("protocol").path("kind").asText(), events.toString());
    JsonNode last = events.get(events.size() - 1);
    assertEquals("protocol-changed", last.path("type").asText(), events.toString());
    assertTrue(last.path("origin").asText().startsWith("admin-api"), last.toString());
    assertEquals("h2c", admin.get("/api/pools/dyn/protocol").json().path("protocol").path("protocol").asText());
    assertEquals("http/1.1", admin.get("/api/pools/base").json().path("protocol").path("protocol").asText());
  }

  @Test
  void mistakesAreRefusedNamingTheFieldAndChangeNothing() {
    assertRefused(admin.put("/api/pools/base/protocol", "{\"protocol\": \"h2\"}"), "protocol: h2 is HTTP/2 over TLS");
    assertRefused(admin.put("/api/pools/base/protocol", "{\"protocol\": \"h3\"}"), "protocol: 'h3' is not a backend protocol");
    assertRefused(admin.put("/api/pools/base/protocol", "{\"protocol\": \"h2c\", \"max-concurrent-streams\": 0}"),
        "max-concurrent-streams: 0 is outside");
    assertRefused(admin.put("/api/pools/base/protocol", "{\"streams\": 3}"), "streams: is not a protocol setting");
    assertRefused(admin.put("/api/pools/base/protocol", "[1]"), "protocol");
    assertRefused(admin.post("/api/pools", "{\"name\": \"never\", \"protocol\": \"h2\"}"), "protocol: h2 is HTTP/2 over TLS");
    assertEquals(404, admin.get("/api/pools/never").status());
    assertEquals(401, admin.send("PUT", "/api/pools/base/protocol", "\"h2c\"", Optional.empty()).status());
    assertEquals(404, admin.put("/api/pools/nothing/protocol", "\"h2c\"").status());
    assertEquals("http/1.1", admin.get("/api/pools/base/protocol").json().path("protocol").path("protocol").asText());
  }

  @Test
  void aRouteWithAProxyHeaderToAPoolChangedToH2IsAnsweredWithA502SayingWhy() {
    AdminClient.Response h2c = admin.put("/api/pools/proxied/protocol", "\"h2c\"");
    assertEquals(200, h2c.status(), h2c.toString());
    // the config refuses this; at runtime the route's requests are refused, naming the conflict (until the change
    // reaches the route, an HTTP/1.1 request to the h2c backend also ends in a 502: the backend's close)
    RawHttp.Response answer = Eventually.await(Duration.ofSeconds(20), "refused", () -> get("/proxied/x"),
        a -> a.status() == 502 && a.body().contains("send-proxy-protocol"));
    assertTrue(answer.body().contains("send-proxy-protocol"), answer.toString());
  }

  private static void assertRefused(AdminClient.Response response, String expected) {
    assertEquals(400, response.status(), response.toString());
    assertTrue(response.error().startsWith(expected), "'" + response.error() + "' should start with " + expected);
  }

  private String unary(String message) {
    try {
      return SimpleServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
          .unaryRpc(SimpleRequest.newBuilder().setRequestMessage(message).build()).getResponseMessage();
    } catch (StatusRuntimeException e) {
      return e.getStatus().getCode() + " " + e.getStatus().getDescription();
    }
  }

  private RawHttp.Response get(String path) {
    return RawHttp.get(port, "x", path);
  }
}
