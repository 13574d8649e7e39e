package dev.fulcrum.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import dev.fulcrum.Fulcrum;
import dev.fulcrum.testing.AdminClient;
import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.PoolHealth;
import dev.fulcrum.testing.TestCertificates;
import dev.fulcrum.testing.TestConfig;
import dev.fulcrum.testing.TlsClients;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A pool's TLS to its backends set at runtime through the admin API: on a pool from the config (both HTTP engines
 * switch to TLS, its HTTP health check too, and back to plain), on a pool created by the API (reached by TCP listeners
 * added at runtime on both engines); journaled as events; bad settings refused naming the field, nothing changed.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RuntimePoolTlsTest {
  private static final String TOKEN = "runtime-tls-token";
  private Path dir;
  private HttpsServer backend;
  private Fulcrum fulcrum;
  private AdminClient admin;
  private String address;
  private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  @BeforeAll
  void start() throws Exception {
    dir = Files.createTempDirectory("fulcrum-runtime-tls");
    TestCertificates.selfSigned(dir, "backend", true, "backend.internal");
    Files.writeString(dir.resolve("not-a-certificate.pem"), "hello");
    backend = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 50);
    backend.setHttpsConfigurator(new HttpsConfigurator(TlsClients.server(dir, "backend")));
    backend.createContext("/", exchange -> {
      byte[] body = ("tls backend saw " + exchange.getRequestURI().getPath()).getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(200, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    backend.start();
    address = "127.0.0.1:" + backend.getAddress().getPort();
    fulcrum = Fulcrum.start(TestConfig.of("""
        fulcrum.admin.token = "%s"
        fulcrum.pools.late {
          backends = ["%s"]
          health-check { type = http, path = "/health", interval = 300ms, timeout = 5s, rise = 1, fall = 1 }
          outlier-detection { consecutive-local-origin-failures = 0, consecutive-gateway-errors = 0, consecutive-5xx = 0 }
        }
        fulcrum.http.max-attempts = 1
        fulcrum.listeners.http {
          nio { bind = "127.0.0.1:0", engine = nio, routes = [{path = "/", pool = late}] }
          pekko { bind = "127.0.0.1:0", engine = pekko, routes = [{path = "/", pool = late}] }
        }
        """.formatted(TOKEN, address)));
    admin = new AdminClient(fulcrum.adminAddress(), Optional.of(TOKEN));
  }

  @AfterAll
  void stop() throws Exception {
    try {
      if (fulcrum != null) fulcrum.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } finally {
      backend.stop(0);
    }
  }

  private String tlsBlock() {
    return "{\"ca-file\": \"%s\", \"server-name\": \"backend.internal\"}".formatted(dir.resolve("backend.pem"));
  }

  @Test
  void aConfiguredPoolSwitchesToTlsAndBackOnBothHttpEngines() {
    // plain HTTP to a TLS backend: the check fails and requests are refused
    Eventually.await(Duration.ofSeconds(20), "late down while plain",
        () -> PoolHealth.status(fulcrum, "late").backends().get(0).health() == dev.fulcrum.backend.Health.DOWN);
    assertTrue(status("nio", "/a") >= 500);

    AdminClient.Response set = admin.put("/api/pools/late/tls", tlsBlock());
    assertEquals(200, set.status(), set.toString());
    assertTrue(set.json().path("tls").path("enabled").asBoolean(), set.toString());
    assertEquals("backend.internal", set.json().path("tls").path("server-name").asText(), set.toString());
    // the health check speaks TLS now, and so do both engines
    PoolHealth.awaitAllUp(fulcrum, "late", 1);
    Eventually.await(Duration.ofSeconds(20), "nio through TLS", () -> body("nio", "/n").equals("200 tls backend saw /n"));
    Eventually.await(Duration.ofSeconds(20), "pekko through TLS", () -> body("pekko", "/p").equals("200 tls backend saw /p"));

    JsonNode pool = admin.get("/api/pools/late").json();
    assertEquals(dir.resolve("backend.pem").toString(), pool.path("tls").path("ca-file").asText(), pool.toString());
    JsonNode events = admin.get("/api/pools/late/events").json();
    JsonNode last = events.get(events.size() - 1);
    assertEquals("tls-changed", last.path("type").asText(), events.toString());
    assertTrue(last.path("origin").asText().startsWith("admin-api"), last.toString());

    AdminClient.Response off = admin.put("/api/pools/late/tls", "{\"enabled\": false}");
    assertEquals(200, off.status(), off.toString());
    assertEquals(false, off.json().path("tls").path("enabled").asBoolean(true), off.toString());
    Eventually.await(Duration.ofSeconds(20), "plain again", () -> status("nio", "/again") >= 500);
    assertTrue(admin.get("/api/pools/late").json().path("tls").isMissingNode(), "a plain pool shows no tls");
  }

  @Test
  void aPoolCreatedWithTlsIsReachedByTcpListenersOfBothEngines() throws Exception {
    AdminClient.Response created = admin.post("/api/pools", """
        {"name": "made", "backends": [{"address": "%s"}], "tls": %s}""".formatted(address, tlsBlock()));
    assertEquals(201, created.status(), created.toString());
    assertEquals("backend.internal", created.json().path("tls").path("server-name").asText(), created.toString());
    JsonNode events = admin.get("/api/pools/made/events").json();
    assertEquals("backend.internal", events.get(0).path("pool").path("tls").path("serverName").asText(), events.toString());
    for (String engine : new String[] {"nio", "streams"}) {
      AdminClient.Response listener = admin.post("/api/listeners", """
          {"name": "made-%1$s", "protocol": "tcp", "bind": "127.0.0.1:0", "pool": "made", "engine": "%1$s"}"""
          .formatted(engine));
      assertTrue(listener.status() / 100 == 2, listener.toString());
      int port = fulcrum.tcpListener("made-" + engine).localAddress().getPort();
      String answer = Eventually.await(Duration.ofSeconds(20), "made through " + engine, () -> raw(port, "/via-" + engine),
          a -> a.startsWith("HTTP/1.1 200"));
      assertTrue(answer.endsWith("tls backend saw /via-" + engine), answer);
    }
  }

  @Test
  void badTlsSettingsAreRefusedNamingTheFieldAndChangeNothing() {
    assertRefused(admin.put("/api/pools/late/tls", "{\"ca-file\": \"/nowhere/ca.pem\"}"), "tls.ca-file: cannot read '/nowhere/ca.pem'");
    assertRefused(admin.put("/api/pools/late/tls", "{\"ca-file\": \"%s\"}".formatted(dir.resolve("not-a-certificate.pem"))),
        "tls.ca-file: ");
    assertRefused(admin.put("/api/pools/late/tls", "{\"protocols\": [\"TLSv1.1\"]}"), "tls.protocols");
    assertRefused(admin.put("/api/pools/late/tls", "{\"cert-file\": \"%s\"}".formatted(dir.resolve("backend.pem"))),
        "tls.key-file");
    assertRefused(admin.put("/api/pools/late/tls", "{\"verify-hostname\": \"maybe\"}"), "tls.verify-hostname");
    assertRefused(admin.put("/api/pools/late/tls", "{\"ca\": \"x\"}"), "tls.\"ca\"");
    assertRefused(admin.put("/api/pools/late/tls", "[1]"), "tls");
    AdminClient.Response created = admin.post("/api/pools",
        "{\"name\": \"never\", \"tls\": {\"ca-file\": \"/nowhere/ca.pem\"}}");
    assertRefused(created, "tls.ca-file");
    assertEquals(404, admin.get("/api/pools/never").status());
    assertEquals(401, admin.send("PUT", "/api/pools/late/tls", tlsBlock(), Optional.empty()).status());
  }

  private static void assertRefused(AdminClient.Response response, String expected) {
    assertEquals(400, response.status(), response.toString());
    assertTrue(response.error().startsWith(expected), "'" + response.error() + "' should start with " + expected);
  }

  private String raw(int port, String path) {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(10_000);
      socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
          .getBytes(StandardCharsets.ISO_8859_1));
      return new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
    } catch (java.io.IOException e) {
      return e.toString();
    }
  }

  private String body(String listener, String path) {
    try {
      HttpResponse<String> response = send(listener, path);
      return response.statusCode() + " " + response.body();
    } catch (Exception e) {
      return e.toString();
    }
  }

  private int status(String listener, String path) {
    try {
      return send(listener, path).statusCode();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private HttpResponse<String> send(String listener, String path) throws Exception {
    int port = fulcrum.httpListener(listener).localAddress().getPort();
    return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
  }
}
