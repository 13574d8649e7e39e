package dev.fulcrum.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fulcrum.Fulcrum;
import dev.fulcrum.testing.AdminClient;
import dev.fulcrum.testing.AdminClient.Response;
import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.HttpBackend;
import dev.fulcrum.testing.NamedBackend;
import dev.fulcrum.testing.RawHttp;
import dev.fulcrum.testing.TestConfig;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The admin API through real HTTP against a real node: every endpoint, every error status, and its effect on traffic. */
class AdminApiTest {
  private static final String TOKEN = "s3cret";
  private static final Duration SOON = Duration.ofSeconds(5);

  private static ActorTestKit backendsKit;
  private static HttpBackend b1;
  private static HttpBackend b2;
  private static HttpBackend b3;
  private static Fulcrum fulcrum;
  private static AdminClient admin;
  private static InetSocketAddress tcp;

  @BeforeAll
  static void start() {
    backendsKit = ActorTestKit.create("backends");
    b1 = NamedBackend.start(backendsKit.system(), "b1");
    b2 = NamedBackend.start(backendsKit.system(), "b2");
    b3 = NamedBackend.start(backendsKit.system(), "b3");
    fulcrum = Fulcrum.start(TestConfig.of("""
        fulcrum.admin.token = "%s"
        fulcrum.health-check { interval = 200ms, timeout = 500ms, rise = 1, fall = 1 }
        fulcrum.pools.web.backends = ["%s", "%s"]
        fulcrum.pools.traffic.backends = ["%s"]
        fulcrum.listeners.tcp.main { bind = "127.0.0.1:0", pool = traffic }
        """.formatted(TOKEN, b1.address(), b2.address(), b1.address())));
    admin = new AdminClient(fulcrum.adminAddress(), Optional.of(TOKEN));
    tcp = fulcrum.tcpListener("main").localAddress();
  }

  @AfterAll
  static void stop() throws Exception {
    if (fulcrum != null) fulcrum.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
    backendsKit.shutdownTestKit();
  }

  private static long version(String pool) {
    Response r = admin.get("/api/pools/" + pool);
    assertEquals(200, r.status(), r.toString());
    return r.json().get("version").asLong();
  }

  private static void assertError(Response r, int status, String mentions) {
    assertEquals(status, r.status(), r.toString());
    assertTrue(r.raw().headers().firstValue("Content-Type").orElse("").startsWith("application/json"), r.toString());
    assertTrue(r.error().contains(mentions), "error should mention '" + mentions + "': " + r.body());
    assertFalse(r.body().contains("Exception") || r.body().contains("\tat "), "no stack trace: " + r.body());
  }

  private static JsonNode backend(JsonNode pool, String address) {
    for (JsonNode b : pool.get("backends")) if (b.get("address").asText().equals(address)) return b;
    throw new AssertionError("no backend " + address + " in " + pool);
  }

  @Test
  void healthIsUpWithoutAToken() {
    Response r = admin.send("GET", "/api/health", null, Optional.empty());
    assertEquals(200, r.status());
    assertEquals("up", r.json().get("status").asText());
  }

  @Test
  void readsPoolsWithoutAToken() {
    Response list = admin.send("GET", "/api/pools", null, Optional.empty());
    assertEquals(200, list.status(), list.toString());
    Set<String> names = new HashSet<>();
    list.json().forEach(p -> names.add(p.get("name").asText()));
    assertTrue(names.containsAll(Set.of("web", "traffic")), names.toString());

    JsonNode web = admin.send("GET", "/api/pools/web", null, Optional.empty()).json();
    assertEquals("web", web.get("name").asText());
    assertEquals("round-robin", web.get("strategy").asText());
    assertTrue(web.get("version").asLong() >= 1);
    JsonNode first = web.get("backends").get(0);
    assertEquals(b1.address(), first.get("address").asText());
    assertEquals(1, first.get("weight").asInt());
    assertEquals("active", first.get("admin").asText());
    assertTrue(Set.of("up", "down", "unknown").contains(first.get("health").asText()), first.toString());
    assertEquals(0, first.get("activeConnections").asInt());
    Eventually.await(SOON, "b1 healthy", () -> backend(admin.get("/api/pools/web").json(), b1.address()).get("health").asText().equals("up"));

    assertError(admin.get("/api/pools/nope"), 404, "nope");
    assertError(admin.get("/api/pools/not%20a%20name"), 404, "not a name");
  }

  @Test
  void createsAndDeletesPools() {
    Response created = admin.post("/api/pools", """
        {"name":"made","strategy":"round-robin","backends":[{"address":"%s","weight":2},{"address":"%s"}]}
        """.formatted(b1.address(), b2.address()));
    assertEquals(201, created.status(), created.toString());
    assertEquals("/api/pools/made", created.raw().headers().firstValue("Location").orElse(""));
    assertEquals(2, created.json().get("backends").get(0).get("weight").asInt());
    assertEquals(1, created.json().get("backends").get(1).get("weight").asInt());
    assertEquals(200, admin.get("/api/pools/made").status());

    assertError(admin.post("/api/pools", "{\"name\":\"made\"}"), 409, "already exists");
    assertError(admin.post("/api/pools", "{\"name\":\"x\",\"backends\":[{\"address\":\"localhost\"}]}"), 400, "backends[0].address");
    assertError(admin.post("/api/pools", "{\"name\":\"x\",\"backends\":[{\"address\":\"127.0.0.1:1\",\"weight\":1001}]}"), 400, "backends[0].weight");
    assertError(admin.post("/api/pools", "{\"name\":\"x\",\"backends\":[{\"address\":\"127.0.0.1:1\",\"port\":1}]}"), 400, "backends[0].port");
    assertError(admin.post("/api/pools", "{\"name\":\"x\",\"backends\":[\"127.0.0.1:1\",\"127.0.0.1:1\"]}"), 400, "backends[0]");
    assertError(admin.post("/api/pools", "{\"name\":\"x\",\"colour\":\"red\"}"), 400, "colour");
    assertError(admin.post("/api/pools", "{\"name\":\"x\",\"strategy\":\"fastest\"}"), 400, "strategy");
    assertError(admin.post("/api/pools", "{\"name\":\"bad name\"}"), 400, "name");
    assertError(admin.post("/api/pools", "{\"strategy\":\"round-robin\"}"), 400, "name");
    Response cut = admin.post("/api/pools", "{\"name\":\"x\"");
    assertError(cut, 400, "invalid JSON");
    // Jackson's note on the source it does not show is left out; where the object began is kept
    assertEquals("invalid JSON: Unexpected end-of-input: expected close marker for Object (start marker at line 1, column 1)"
        + " (line 1, column 12)", cut.error());
    assertError(admin.post("/api/pools", "[1]"), 400, "JSON object");
    assertEquals(404, admin.get("/api/pools/x").status(), "no failed create created anything");

    Response deleted = admin.delete("/api/pools/made");
    assertEquals(204, deleted.status(), deleted.toString());
    assertError(admin.get("/api/pools/made"), 404, "made");
    assertError(admin.delete("/api/pools/made"), 404, "made");
    Response list = admin.get("/api/pools");
    list.json().forEach(p -> assertFalse(p.get("name").asText().equals("made"), "deleted pools are not listed"));
    Response again = admin.post("/api/pools", "{\"name\":\"made\"}");
    assertEquals(201, again.status(), again.toString());
    assertEquals(3, again.json().get("version").asLong(), "a re-created pool continues its history");
    assertEquals(0, again.json().get("backends").size());
  }

  @Test
  void strictInput() {
    admin.post("/api/pools", "{\"name\":\"strict\",\"backends\":[{\"address\":\"%s\"}]}".formatted(b1.address()));
    long before = version("strict");
    String b = "/api/pools/strict/backends";
    assertError(admin.post(b, "{\"address\":\"127.0.0.1:1\"} {\"address\":\"127.0.0.1:2\"}"), 400, "invalid JSON");
    assertError(admin.post(b, "{\"address\":\"127.0.0.1:1\"}]"), 400, "invalid JSON");
    assertError(admin.patch(b + "/" + b1.address(), "{\"weight\":2} x"), 400, "invalid JSON");
    String label64 = "a".repeat(64);
    assertError(admin.post(b, "{\"address\":\"" + label64 + ".example.com:80\"}"), 400, "address");
    assertError(admin.post(b, "{\"address\":\"" + label64 + ".example.com:80\"}"), 400, "63");
    String long254 = String.join(".", java.util.Collections.nCopies(51, "abcd")) + ".x";  // 51*5 + 1 = 256 characters
    assertError(admin.post(b, "{\"address\":\"" + long254 + ":80\"}"), 400, "253");
    assertError(admin.post(b, "{\"address\":\"-bad.example.com:80\"}"), 400, "'-'");
    assertError(admin.post(b, "{\"address\":\"bad!name.example.com:80\"}"), 400, "letters, digits");
    assertError(admin.post(b, "{\"address\":\"a..b:80\"}"), 400, "empty label");
    assertError(admin.post(b, "{\"address\":\"300.1.1.1:80\"}"), 400, "IPv4");
    assertError(admin.post(b, "{\"address\":\"::1:80\"}"), 400, "brackets");
    assertError(admin.post(b, "{\"address\":\"[::g]:80\"}"), 400, "IPv6");
    assertError(admin.post(b, "{\"address\":\"[1:2:3:4:5:6:7:8:9]:80\"}"), 400, "IPv6");
    assertError(admin.post(b, "{\"address\":\"[example.com]:80\"}"), 400, "IPv6");
    assertError(admin.post("/api/pools", "{\"name\":\"x\",\"backends\":[{\"address\":\"[1::2::3]:80\"}]}"), 400, "backends[0].address");
    assertError(admin.send("POST", b, "{\"address\":\"127.0.0.1:1\"}", Optional.of(TOKEN), java.util.Map.of("Idempotency-Key", "x".repeat(101))),
        400, "Idempotency-Key");
    assertEquals(before, version("strict"), "nothing changed on any error");
    for (String good : new String[] {"[::1]:81", "[2001:db8::7]:82", "[::ffff:10.0.0.1]:83", label64.substring(1) + ".example.com:84", "localhost:85"}) {
      Response r = admin.post(b, "{\"address\":\"" + good + "\"}");
      assertEquals(201, r.status(), good + ": " + r);
    }
  }

  @Test
  void anIdempotencyKeyAppliesARetriedChangeOnce() {
    admin.post("/api/pools", "{\"name\":\"keyed\",\"backends\":[{\"address\":\"%s\"}]}".formatted(b1.address()));
    java.util.Map<String, String> key = java.util.Map.of("Idempotency-Key", "add-b2-" + java.util.UUID.randomUUID());
    String body = "{\"address\":\"%s\",\"weight\":2}".formatted(b2.address());
    Response first = admin.send("POST", "/api/pools/keyed/backends", body, Optional.of(TOKEN), key);
    assertEquals(201, first.status(), first.toString());
    Response retried = admin.send("POST", "/api/pools/keyed/backends", body, Optional.of(TOKEN), key);
    assertEquals(201, retried.status(), "the retry is answered as the first was, not 409: " + retried);
    assertEquals(first.json().get("version"), retried.json().get("version"), "and applied once");
    assertError(admin.post("/api/pools/keyed/backends", body), 409, b2.address());
  }

  @Test
  void changesBackendsAndRejectsBadInputWithoutChangingAnything() {
    admin.post("/api/pools", "{\"name\":\"edit\",\"backends\":[\"%s\"]}".formatted(b1.address()).replace("[\"", "[{\"address\":\"").replace("\"]", "\"}]"));
    long v = version("edit");

    Response added = admin.post("/api/pools/edit/backends", "{\"address\":\"%s\",\"weight\":3}".formatted(b2.address()));
    assertEquals(201, added.status(), added.toString());
    assertEquals(3, backend(added.json(), b2.address()).get("weight").asInt());
    assertEquals(v + 1, added.json().get("version").asLong());

    long before = version("edit");
    assertError(admin.post("/api/pools/edit/backends", "{\"address\":\"%s\"}".formatted(b2.address())), 409, b2.address());
    assertError(admin.post("/api/pools/nope/backends", "{\"address\":\"127.0.0.1:1\"}"), 404, "nope");
    assertError(admin.post("/api/pools/edit/backends", "{\"address\":\"127.0.0.1:99999\"}"), 400, "address");
    assertError(admin.post("/api/pools/edit/backends", "{\"address\":\"127.0.0.1:1\",\"weight\":-1}"), 400, "weight");
    assertError(admin.post("/api/pools/edit/backends", "{\"address\":\"127.0.0.1:1\",\"weight\":\"heavy\"}"), 400, "weight");
    assertError(admin.post("/api/pools/edit/backends", "{\"address\":\"127.0.0.1:1\",\"wieght\":1}"), 400, "wieght");
    assertError(admin.post("/api/pools/edit/backends", "not json"), 400, "invalid JSON");
    assertError(admin.patch("/api/pools/edit/backends/" + b2.address(), "{\"weight\":5000}"), 400, "weight");
    assertError(admin.patch("/api/pools/edit/backends/" + b2.address(), "{\"weight\":1,\"admin\":\"draining\"}"), 400, "weight");
    assertError(admin.patch("/api/pools/edit/backends/" + b2.address(), "{\"admin\":\"asleep\"}"), 400, "admin");
    assertError(admin.patch("/api/pools/edit/backends/" + b2.address(), "{\"wieght\":2}"), 400,
        "unknown field 'wieght' (did you mean weight?)");
    assertError(admin.patch("/api/pools/edit/backends/127.0.0.1:1", "{\"weight\":2}"), 404, "127.0.0.1:1");
    assertError(admin.patch("/api/pools/nope/backends/127.0.0.1:1", "{\"weight\":2}"), 404, "nope");
    assertError(admin.patch("/api/pools/edit/backends/no-port", "{\"weight\":2}"), 400, "address");
    assertError(admin.delete("/api/pools/edit/backends/127.0.0.1:1"), 404, "127.0.0.1:1");
    assertError(admin.put("/api/pools/edit/strategy", "{\"strategy\":\"fastest\"}"), 400, "strategy");
    assertError(admin.put("/api/pools/edit/strategy", "{\"strategy\":1}"), 400, "strategy");
    assertError(admin.put("/api/pools/edit/strategy", "{}"), 400, "'strategy' is missing");
    assertError(admin.put("/api/pools/nope/strategy", "{\"strategy\":\"round-robin\"}"), 404, "nope");
    assertEquals(before, version("edit"), "nothing changed on any error");

    Response weighted = admin.patch("/api/pools/edit/backends/" + b2.address(), "{\"weight\":7}");
    assertEquals(200, weighted.status(), weighted.toString());
    assertEquals(7, backend(weighted.json(), b2.address()).get("weight").asInt());
    Response draining = admin.patch("/api/pools/edit/backends/" + b2.address(), "{\"admin\":\"draining\"}");
    assertEquals(200, draining.status(), draining.toString());
    assertEquals("drained", backend(draining.json(), b2.address()).get("admin").asText(), "no connections: drained at once");
    Response active = admin.patch("/api/pools/edit/backends/" + b2.address(), "{\"admin\":\"active\"}");
    assertEquals("active", backend(active.json(), b2.address()).get("admin").asText());
    Response strategy = admin.put("/api/pools/edit/strategy", "{\"strategy\":\"round-robin\"}");
    assertEquals(200, strategy.status(), strategy.toString());
    assertEquals("round-robin", strategy.json().get("strategy").asText());

    assertEquals(204, admin.delete("/api/pools/edit/backends/" + b2.address()).status());
    assertEquals(1, admin.get("/api/pools/edit").json().get("backends").size());
  }

  @Test
  void listsEventsInOrderWithWhenAndWho() {
    admin.post("/api/pools", "{\"name\":\"history\",\"backends\":[{\"address\":\"%s\"}]}".formatted(b1.address()));
    admin.post("/api/pools/history/backends", "{\"address\":\"%s\"}".formatted(b2.address()));
    admin.patch("/api/pools/history/backends/" + b2.address(), "{\"weight\":4}");
    admin.patch("/api/pools/history/backends/" + b1.address(), "{\"admin\":\"draining\"}");
    admin.delete("/api/pools/history/backends/" + b2.address());

    Response events = admin.send("GET", "/api/pools/history/events", null, Optional.empty());
    assertEquals(200, events.status(), events.toString());
    JsonNode all = events.json();
    assertEquals(5, all.size(), all.toString());
    String[] types = {"pool-created", "backend-added", "weight-changed", "drain-started", "backend-removed"};
    for (int i = 0; i < types.length; i++) {
      JsonNode e = all.get(i);
      assertEquals(i + 1, e.get("seq").asLong());
      assertEquals(types[i], e.get("type").asText());
      assertTrue(e.get("timestamp").asText().matches("\\d{4}-\\d\\d-\\d\\dT.*Z"), e.toString());
      assertTrue(e.get("origin").asText().startsWith("admin-api 127.0.0.1"), e.toString());
    }
    assertEquals(b2.address(), all.get(1).get("address").asText());
    assertEquals(4, all.get(2).get("weight").asInt());

    JsonNode tail = admin.get("/api/pools/history/events?from=4").json();
    assertEquals(2, tail.size());
    assertEquals(4, tail.get(0).get("seq").asLong());
    assertError(admin.get("/api/pools/history/events?from=zero"), 400, "from");
    assertError(admin.get("/api/pools/nope/events"), 404, "nope");
  }

  @Test
  void mutatingCallsNeedTheToken() {
    long before = version("web");
    String body = "{\"address\":\"127.0.0.1:1\"}";
    assertError(admin.send("POST", "/api/pools/web/backends", body, Optional.empty()), 401, "Authorization");
    assertError(admin.send("POST", "/api/pools/web/backends", body, Optional.of("wrong")), 401, "Authorization");
    assertError(admin.send("POST", "/api/pools", "{\"name\":\"sneaky\"}", Optional.empty()), 401, "Authorization");
    assertError(admin.send("PATCH", "/api/pools/web/backends/" + b1.address(), "{\"weight\":9}", Optional.empty()), 401, "Authorization");
    assertError(admin.send("PUT", "/api/pools/web/strategy", "{\"strategy\":\"round-robin\"}", Optional.empty()), 401, "Authorization");
    assertError(admin.send("DELETE", "/api/pools/web", null, Optional.empty()), 401, "Authorization");
    assertError(admin.send("DELETE", "/api/pools/web/backends/" + b1.address(), null, Optional.empty()), 401, "Authorization");
    assertEquals(before, version("web"));
    assertEquals(404, admin.get("/api/pools/sneaky").status());
  }

  @Test
  void aBrowserPageOfAnotherOriginCannotChangeAnything() {
    long before = version("web");
    String own = "http://" + fulcrum.adminAddress().getHostString() + ":" + fulcrum.adminAddress().getPort();
    String body = "{\"address\":\"127.0.0.1:1\"}";
    // a page elsewhere makes the browser POST (a "simple" request, sent without asking): even with the token it is refused
    for (String origin : new String[] {"http://evil.example", "null", "http://127.0.0.1:1", "http://localhost:1"}) {
      assertError(admin.send("POST", "/api/pools/web/backends", body, Optional.of(TOKEN), java.util.Map.of("Origin", origin)),
          403, "Origin: " + origin);
    }
    assertError(admin.send("DELETE", "/api/pools/web", null, Optional.of(TOKEN), java.util.Map.of("Origin", "http://evil.example")),
        403, "another origin");
    assertEquals(before, version("web"));
    // reads stay open to any page, as they are to anyone; the stats page (this origin) still changes pools
    assertEquals(200, admin.send("GET", "/api/pools/web", null, Optional.empty(), java.util.Map.of("Origin", "http://evil.example")).status());
    Response same = admin.send("PATCH", "/api/pools/web/backends/" + b2.address(), "{\"weight\":1}", Optional.of(TOKEN),
        java.util.Map.of("Origin", own));
    assertEquals(200, same.status(), same.toString());
  }

  @Test
  void unknownEndpointsAndMethods() {
    assertError(admin.get("/api/nothing"), 404, "/api/nothing");
    assertError(admin.get("/elsewhere"), 404, "/elsewhere");
    assertError(admin.put("/api/pools", "{}"), 405, "PUT");
    assertError(admin.send("POST", "/api/health", "{}", Optional.of(TOKEN)), 405, "POST");
    assertError(admin.post("/api/pools", "{\"name\":\"" + "x".repeat(70_000) + "\"}"), 413, "larger than");
  }

  /**
   * A query parameter a call does not take is refused, not ignored: a misspelt one would otherwise do nothing without
   * a word (a history read from its start, a listener removed without its drain). Nothing is changed.
   */
  @Test
  void unknownQueryParametersAreRefusedByName() {
    assertError(admin.get("/api/pools?verbose=1"), 400, "'verbose'");
    assertError(admin.get("/api/health?x=1"), 400, "'x'");
    assertError(admin.get("/api/pools/web/events?form=3"), 400, "did you mean from");
    assertError(admin.get("/api/pools/web/events?from=1&from=2"), 400, "more than once");
    assertError(admin.delete("/api/pools/web?force=true"), 400, "'force'");
    assertEquals(200, admin.get("/api/pools/web").status(), "the pool is still there");
    assertError(admin.get("/api/routes?from=1"), 400, "'from'");
    assertError(admin.delete("/api/listeners/main?drian=1s"), 400, "did you mean drain");
    assertNotNull(fulcrum.tcpListener("main"), "the listener is still there");
    assertError(admin.get("/api/pools/web/health-check?x=1"), 400, "'x'");
    assertError(admin.put("/api/pools/web/tls?x=1", "{\"enabled\":false}"), 400, "'x'");
    assertError(admin.get("/api/stats?x=1"), 400, "'x'");
    assertError(admin.get("/api/listeners?x=1"), 400, "'x'");
    assertError(admin.post("/api/tls/reload?x=1", "{}"), 400, "'x'");
    assertEquals(200, admin.get("/api/pools/web/events?from=1").status());
    assertEquals(200, admin.get("/api/pools/web/health-check").status());
  }

  /** Requests Pekko HTTP refuses before any handler sees them are answered in the API's JSON too. */
  @Test
  void aRequestPekkoCannotParseGetsAJsonError() throws Exception {
    for (String head : List.of("GET /api/pools/[web] HTTP/1.1\r\nHost: a\r\n\r\n", "GET /api/pools HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n")) {
      try (java.net.Socket socket = new java.net.Socket(fulcrum.adminAddress().getAddress(), fulcrum.adminAddress().getPort())) {
        socket.setSoTimeout(10_000);
        socket.getOutputStream().write(head.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        String answer = new String(socket.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(answer.startsWith("HTTP/1.1 400 "), answer);
        assertTrue(answer.toLowerCase(java.util.Locale.ROOT).contains("content-type: application/json"), answer);
        JsonNode error = Json.MAPPER.readTree(answer.substring(answer.indexOf("\r\n\r\n") + 4));
        assertFalse(error.path("error").asText().isEmpty(), answer);
        assertFalse(error.path("error").asText().contains("\n"), "one line: " + answer);
      }
    }
  }

  @Test
  void aBodyThatIsNotUtf8IsRefused() throws Exception {
    byte[] body = "{\"name\":\"caf\u00e9\",\"backends\":[]}".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
    byte[] head = ("POST /api/pools HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer " + TOKEN + "\r\nContent-Type: application/json\r\n"
        + "Content-Length: " + body.length + "\r\nConnection: close\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
    try (java.net.Socket socket = new java.net.Socket(fulcrum.adminAddress().getAddress(), fulcrum.adminAddress().getPort())) {
      socket.setSoTimeout(10_000);
      socket.getOutputStream().write(head);
      socket.getOutputStream().write(body);
      String answer = new String(socket.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
      assertTrue(answer.startsWith("HTTP/1.1 400 "), answer);
      assertTrue(answer.endsWith("{\"error\":\"the body is not UTF-8 text\"}"), answer);
    }
  }

  @Test
  void anAddedBackendGetsTrafficAtOnce() {
    assertEquals("b1", RawHttp.getOnce(tcp, "/"));
    Response added = admin.post("/api/pools/traffic/backends", "{\"address\":\"%s\"}".formatted(b3.address()));
    assertEquals(201, added.status(), added.toString());
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < 4; i++) seen.add(RawHttp.getOnce(tcp, "/"));
    assertEquals(Set.of("b1", "b3"), seen, "round robin over both backends right after the 201");
    assertEquals(204, admin.delete("/api/pools/traffic/backends/" + b3.address()).status());
    for (int i = 0; i < 4; i++) assertEquals("b1", RawHttp.getOnce(tcp, "/"));
  }

  @Test
  void aDrainedBackendGetsNoNewConnectionsWhileItsOpenOneWorks() {
    admin.post("/api/pools/traffic/backends", "{\"address\":\"%s\"}".formatted(b2.address()));
    try (RawHttp open = new RawHttp(tcp)) {
      String pinned = open.get("/");
      String address = pinned.equals("b1") ? b1.address() : b2.address();
      String other = pinned.equals("b1") ? "b2" : "b1";

      Response drained = admin.patch("/api/pools/traffic/backends/" + address, "{\"admin\":\"draining\"}");
      assertEquals(200, drained.status(), drained.toString());
      for (int i = 0; i < 6; i++) assertEquals(other, RawHttp.getOnce(tcp, "/"), "new connections avoid the draining backend");
      assertEquals(pinned, open.get("/"), "the open connection keeps working");
      JsonNode b = backend(admin.get("/api/pools/traffic").json(), address);
      assertEquals("draining", b.get("admin").asText(), b.toString());
      assertEquals(1, b.get("activeConnections").asInt(), b.toString());
      open.close();
      Eventually.await(SOON, "drained at zero connections",
          () -> backend(admin.get("/api/pools/traffic").json(), address).get("admin").asText().equals("drained"));
      assertEquals(200, admin.patch("/api/pools/traffic/backends/" + address, "{\"admin\":\"active\"}").status());
    } finally {
      admin.delete("/api/pools/traffic/backends/" + b2.address());
    }
  }
}
