package dev.fulcrum.listener;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fulcrum.Fulcrum;
import dev.fulcrum.routes.RuntimeChange;
import dev.fulcrum.testing.AdminClient;
import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.HttpBackend;
import dev.fulcrum.testing.NamedBackend;
import dev.fulcrum.testing.PoolHealth;
import dev.fulcrum.testing.RawHttp;
import dev.fulcrum.testing.TestConfig;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Listeners added, used, drained and removed at runtime through the admin API and the Java API, and every listener
 * that cannot be added (port in use, out of range, a name taken, a missing pool) refused with nothing changed.
 */
class RuntimeListenersTest {
  private static ActorTestKit kit;
  private static HttpBackend blue;
  private static HttpBackend slow;
  private static final CountDownLatch slowReached = new CountDownLatch(1);
  private static final CompletableFuture<Void> slowRelease = new CompletableFuture<>();
  private static Fulcrum fulcrum;
  private static AdminClient admin;
  private static final List<RuntimeChange> notices = new CopyOnWriteArrayList<>();
  private static final List<dev.fulcrum.events.FulcrumEvent> events = new CopyOnWriteArrayList<>();

  @BeforeAll
  static void start() {
    kit = ActorTestKit.create("runtime-listener-backends");
    blue = NamedBackend.start(kit.system(), "blue");
    slow = new HttpBackend(kit.system(), request -> {
      if (request.getUri().path().equals("/health")) {
        return CompletableFuture.completedFuture(org.apache.pekko.http.javadsl.model.HttpResponse.create().withEntity("up"));
      }
      slowReached.countDown();
      return slowRelease.thenApply(v -> org.apache.pekko.http.javadsl.model.HttpResponse.create().withEntity(HttpEntities.create("slow")));
    });
    fulcrum = Fulcrum.start(TestConfig.of("""
        fulcrum.pools { blue.backends = ["%s"], slow.backends = ["%s"] }
        fulcrum.listeners.http.web { bind = "127.0.0.1:0", routes = [{pool = blue}] }
        """.formatted(blue.address(), slow.address())));
    PoolHealth.awaitAllUp(fulcrum, "blue", 1);
    PoolHealth.awaitAllUp(fulcrum, "slow", 1);
    fulcrum.onRuntimeChange(notices::add);
    fulcrum.events(dev.fulcrum.events.EventFilter.kinds(
            dev.fulcrum.events.FulcrumEvent.Kind.LISTENER_CHANGED, dev.fulcrum.events.FulcrumEvent.Kind.ROUTE_CHANGED), 1000)
        .runWith(org.apache.pekko.stream.javadsl.Sink.foreach(events::add), kit.system());
    admin = new AdminClient(fulcrum.adminAddress(), Optional.empty());
  }

  @AfterAll
  static void stop() throws Exception {
    slowRelease.complete(null);
    fulcrum.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
    kit.shutdownTestKit();
  }

  private static List<String> listenerEvents(String listener) {
    return events.stream().filter(e -> e instanceof dev.fulcrum.events.FulcrumEvent.ListenerChanged l && l.listener().equals(listener))
        .map(e -> ((dev.fulcrum.events.FulcrumEvent.ListenerChanged) e).change()).toList();
  }

  private static int port(AdminClient.Response added) {
    String address = added.json().path("address").asText();
    return Integer.parseInt(address.substring(address.lastIndexOf(':') + 1));
  }

  @Test
  void anHttpListenerIsAddedUsedDrainedAndRemoved() throws Exception {
    AdminClient.Response added = admin.post("/api/listeners",
        "{\"name\": \"extra\", \"protocol\": \"http\", \"bind\": \"127.0.0.1:0\", \"routes\": [{\"pool\": \"blue\"}, {\"path\": \"/slow\", \"pool\": \"slow\"}]}");
    assertEquals(201, added.status(), added.toString());
    int port = port(added);
    assertEquals("blue", RawHttp.getOnce(port, "/"));
    assertEquals(1, admin.get("/api/routes/extra").json().path("version").asLong(), "its route table is journaled");
    assertTrue(fulcrum.listenerList().stream().anyMatch(l -> l.name().equals("extra")));

    CompletableFuture<HttpResponse<String>> inFlight = HttpClient.newHttpClient().sendAsync(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/slow/x")).build(), HttpResponse.BodyHandlers.ofString());
    assertTrue(slowReached.await(10, TimeUnit.SECONDS));
    CompletableFuture<AdminClient.Response> removal = CompletableFuture.supplyAsync(() -> admin.delete("/api/listeners/extra?drain=20s"));
    // while it drains: no new connection, the request in flight goes on
    Eventually.await(Duration.ofSeconds(10), "the listener stops accepting", () -> !accepts(port));
    assertFalse(removal.isDone(), "the removal waits for the drain");
    slowRelease.complete(null);
    assertEquals("slow", inFlight.get(10, TimeUnit.SECONDS).body(), "the request in flight finished during the drain");
    AdminClient.Response removed = removal.get(20, TimeUnit.SECONDS);
    assertEquals(200, removed.status(), removed.toString());
    assertFalse(fulcrum.listenerList().stream().anyMatch(l -> l.name().equals("extra")));
    admin.get("/api/listeners").json().forEach(l -> assertFalse(l.path("name").asText().equals("extra"), "listed after removal"));
    List<String> kinds = notices.stream().filter(n -> n instanceof RuntimeChange.ListenerChanged l && l.listener().equals("extra"))
        .map(n -> ((RuntimeChange.ListenerChanged) n).kind().name()).toList();
    assertEquals(List.of("ADDED", "DRAINING", "REMOVED"), kinds);
    assertTrue(notices.stream().anyMatch(n -> n instanceof RuntimeChange.RouteTableChanged t && t.listener().equals("extra")),
        "its route table's arrival was told");
    // the event hub hears the same, in order
    Eventually.await(Duration.ofSeconds(10), "the hub's listener events", () -> listenerEvents("extra").size() >= 3);
    assertEquals(List.of("added", "draining", "removed"), listenerEvents("extra").subList(0, 3));
    assertTrue(events.stream().anyMatch(e -> e instanceof dev.fulcrum.events.FulcrumEvent.RouteChanged r
        && r.listener().equals("extra") && r.version() == 1), events.toString());
    // added again, it takes the table its name has
    AdminClient.Response again = admin.post("/api/listeners", "{\"name\": \"extra\", \"protocol\": \"http\", \"bind\": \"127.0.0.1:0\"}");
    assertEquals(201, again.status(), again.toString());
    assertEquals("blue", RawHttp.getOnce(port(again), "/"));
    assertEquals(409, admin.post("/api/listeners",
        "{\"name\": \"extra2\", \"protocol\": \"http\", \"bind\": \"127.0.0.1:0\", \"routes\": [{\"pool\": \"blue\"}]}".replace("extra2", "extra")).status());
  }

  @Test
  void aTcpListenerFromTheJavaApi() throws Exception {
    ListenerReply reply = fulcrum.listeners(new ListenerCommand.AddTcp(
        fulcrum.parseTcpListener("extra-tcp", "{bind = \"127.0.0.1:0\", pool = blue}"))).toCompletableFuture().get(10, TimeUnit.SECONDS);
    InetSocketAddress address = assertInstanceOf(ListenerReply.Added.class, reply).address();
    assertEquals("blue", RawHttp.getOnce(address, "/"));
    ListenerReply removed = fulcrum.listeners(new ListenerCommand.Remove("extra-tcp", Optional.of(Duration.ofSeconds(5))))
        .toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertEquals(0, assertInstanceOf(ListenerReply.Removed.class, removed).leftOpen());
    assertFalse(accepts(address.getPort()));
    // the Java API's commands say so in their events, as in the node's listener journal
    Eventually.await(Duration.ofSeconds(10), "the hub's listener events", () -> listenerEvents("extra-tcp").size() >= 3);
    assertTrue(events.stream().filter(e -> e instanceof dev.fulcrum.events.FulcrumEvent.ListenerChanged l && l.listener().equals("extra-tcp"))
        .allMatch(e -> ((dev.fulcrum.events.FulcrumEvent.ListenerChanged) e).origin().equals("java-api")), events.toString());
  }

  @Test
  void aListenerThatCannotBeAddedChangesNothing() throws IOException {
    JsonNode tablesBefore = admin.get("/api/routes").json();
    int listenersBefore = fulcrum.listenerList().size();
    try (ServerSocket taken = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
      AdminClient.Response inUse = admin.post("/api/listeners", "{\"name\": \"clash\", \"protocol\": \"http\", \"bind\": \"127.0.0.1:"
          + taken.getLocalPort() + "\", \"routes\": [{\"pool\": \"blue\"}]}");
      assertEquals(409, inUse.status(), inUse.toString());
      assertTrue(inUse.error().startsWith("bind: cannot listen on 127.0.0.1:" + taken.getLocalPort()), inUse.error());
      AdminClient.Response tcpInUse = admin.post("/api/listeners", "{\"name\": \"clash\", \"protocol\": \"tcp\", \"bind\": \"127.0.0.1:"
          + taken.getLocalPort() + "\", \"pool\": \"blue\"}");
      assertEquals(409, tcpInUse.status(), tcpInUse.toString());
    }
    assertEquals(404, admin.get("/api/routes/clash").status(), "no route table was created for it");
    // an address this machine does not have (TEST-NET-1), or a host name that does not resolve (RFC 6761: .invalid never
    // does), is the request's mistake, not a conflict: on every engine, said in words, not as an exception's name
    Map<String, String> mistakes = Map.of(
        "192.0.2.1:0", "bind: 192.0.2.1 is not an address of this machine (cannot listen on 192.0.2.1:0)",
        "nowhere.invalid:0", "bind: host name 'nowhere.invalid' does not resolve (cannot listen on nowhere.invalid:0)");
    mistakes.forEach((bind, says) -> {
      for (String body : List.of(
          "{\"name\": \"foreign\", \"protocol\": \"http\", \"bind\": \"%s\", \"routes\": [{\"pool\": \"blue\"}]}",
          "{\"name\": \"foreign\", \"protocol\": \"http\", \"engine\": \"pekko\", \"bind\": \"%s\", \"routes\": [{\"pool\": \"blue\"}]}",
          "{\"name\": \"foreign\", \"protocol\": \"tcp\", \"bind\": \"%s\", \"pool\": \"blue\"}",
          "{\"name\": \"foreign\", \"protocol\": \"tcp\", \"engine\": \"streams\", \"bind\": \"%s\", \"pool\": \"blue\"}")) {
        AdminClient.Response refused = admin.post("/api/listeners", body.formatted(bind));
        assertEquals(400, refused.status(), body.formatted(bind) + ": " + refused);
        assertTrue(refused.error().startsWith(says), refused.error());
      }
    });
    assertEquals(404, admin.get("/api/routes/foreign").status(), "no route table was created for it");
    AdminClient.Response range = admin.post("/api/listeners", "{\"name\": \"far\", \"protocol\": \"tcp\", \"bind\": \"127.0.0.1:70000\", \"pool\": \"blue\"}");
    assertEquals(400, range.status(), range.toString());
    assertTrue(range.error().startsWith("bind: "), range.error());
    assertTrue(range.error().contains("70000"), range.error());
    AdminClient.Response pool = admin.post("/api/listeners", "{\"name\": \"nopool\", \"protocol\": \"tcp\", \"bind\": \"127.0.0.1:0\", \"pool\": \"nope\"}");
    assertEquals(400, pool.status(), pool.toString());
    assertTrue(pool.error().startsWith("pool: unknown pool 'nope'"), pool.error());
    AdminClient.Response route = admin.post("/api/listeners",
        "{\"name\": \"badroute\", \"protocol\": \"http\", \"bind\": \"127.0.0.1:0\", \"routes\": [{\"pool\": \"nope\"}]}");
    assertEquals(400, route.status(), route.toString());
    assertTrue(route.error().startsWith("routes[0].pool: unknown pool 'nope'"), route.error());
    AdminClient.Response name = admin.post("/api/listeners", "{\"name\": \"web\", \"protocol\": \"http\", \"bind\": \"127.0.0.1:0\"}");
    assertEquals(409, name.status(), name.toString());
    assertEquals("name: listener 'web' exists on this node", name.error());
    assertEquals(400, admin.post("/api/listeners", "{\"name\": \"x y\", \"protocol\": \"tcp\", \"bind\": \"127.0.0.1:0\", \"pool\": \"blue\"}").status());
    assertEquals(404, admin.delete("/api/listeners/nope").status());
    AdminClient.Response negative = admin.delete("/api/listeners/web?drain=-1s");
    assertEquals(400, negative.status(), negative.toString());
    assertEquals("query parameter 'drain' must not be negative, got '-1s'", negative.error());
    assertEquals(tablesBefore, admin.get("/api/routes").json(), "no route table changed");
    assertEquals(listenersBefore, fulcrum.listenerList().size(), "no listener added");
    assertThrows(dev.fulcrum.config.SettingsException.class, () -> fulcrum.parseTcpListener("t", "{bind = \"127.0.0.1:-1\", pool = blue}"));
  }

  /** As a route's: a misspelt setting would otherwise take its default without a word. */
  @Test
  void aListenerWithAnUnknownFieldIsRefusedNamingIt() {
    int listenersBefore = fulcrum.listenerList().size();
    AdminClient.Response http = admin.post("/api/listeners",
        "{\"name\": \"typo\", \"protocol\": \"http\", \"bind\": \"127.0.0.1:0\", \"client-idle-timout\": \"5s\", \"routes\": [{\"pool\": \"blue\"}]}");
    assertEquals(400, http.status(), http.toString());
    assertTrue(http.error().startsWith("client-idle-timout: is not an http listener setting (did you mean client-idle-timeout?)"), http.error());
    AdminClient.Response tcp = admin.post("/api/listeners",
        "{\"name\": \"typo\", \"protocol\": \"tcp\", \"bind\": \"127.0.0.1:0\", \"pool\": \"blue\", \"colour\": \"red\"}");
    assertEquals(400, tcp.status(), tcp.toString());
    assertTrue(tcp.error().startsWith("colour: is not a tcp listener setting (known: bind, connect-attempts, "), tcp.error());
    AdminClient.Response pools = admin.post("/api/listeners",
        "{\"name\": \"typo\", \"protocol\": \"http\", \"bind\": \"127.0.0.1:0\", \"sticky\": {\"enabled\": true}}");
    assertEquals(400, pools.status(), "sticky is a pool's setting, which a listener's would not change: " + pools);
    assertEquals(listenersBefore, fulcrum.listenerList().size(), "no listener added");
  }

  /** JSON types as JSON clients mean them: HOCON's coercion of "3" and "true" is for config files. */
  @Test
  void aListenerWithANumberOrBooleanAsAStringIsRefused() {
    AdminClient.Response count = admin.post("/api/listeners",
        "{\"name\": \"typed\", \"protocol\": \"tcp\", \"bind\": \"127.0.0.1:0\", \"pool\": \"blue\", \"connect-attempts\": \"3\"}");
    assertEquals(400, count.status(), count.toString());
    assertTrue(count.error().startsWith("connect-attempts: must be an integer, got the string \"3\""), count.error());
    AdminClient.Response flag = admin.post("/api/listeners",
        "{\"name\": \"typed\", \"protocol\": \"http\", \"bind\": \"127.0.0.1:0\", \"http2\": {\"cleartext\": \"true\"}}");
    assertEquals(400, flag.status(), flag.toString());
    assertTrue(flag.error().startsWith("http2.cleartext: must be true or false, got the string \"true\""), flag.error());
    AdminClient.Response fraction = admin.post("/api/listeners",
        "{\"name\": \"typed\", \"protocol\": \"tcp\", \"bind\": \"127.0.0.1:0\", \"pool\": \"blue\", \"connect-attempts\": 2.5}");
    assertEquals(400, fraction.status(), fraction.toString());
    assertTrue(fraction.error().startsWith("connect-attempts: must be an integer, got 2.5"), fraction.error());
    AdminClient.Response weight = admin.put("/api/routes/web",
        "{\"routes\": [{\"pools\": [{\"pool\": \"blue\", \"weight\": \"50\"}, {\"pool\": \"slow\", \"weight\": 50}]}]}");
    assertEquals(400, weight.status(), weight.toString());
    assertEquals("routes[0].pools[0].weight: must be an integer, got the string \"50\"", weight.error(), "no \"(request body: 1)\" either");
    assertTrue(fulcrum.listenerList().stream().noneMatch(l -> l.name().equals("typed")));
    // HOCON given to the Java API is config as a file has it: on is true there
    assertTrue(fulcrum.parseHttpListener("typed", "{bind = \"127.0.0.1:0\", http2.cleartext = on, routes = [{pool = blue}]}")
        .http2().cleartext());
    assertThrows(dev.fulcrum.config.SettingsException.class,
        () -> fulcrum.parseHttpListener("typed", "{\"bind\": \"127.0.0.1:0\", \"http2\": {\"cleartext\": \"on\"}}"));
  }

  /** A chunked body has no Content-Length to refuse it by: past the limit it is a 413 too, never a 500. */
  @Test
  void aChunkedBodyOverTheLimitIsRefusedAsTooLarge() throws IOException {
    for (String path : List.of("/api/listeners", "/api/routes/web", "/api/pools")) {
      String answer = chunkedPost(path, 300_000);
      assertTrue(answer.startsWith("HTTP/1.1 413 "), path + ": " + answer);
      assertTrue(answer.contains("{\"error\":\"the body is larger than "), path + ": " + answer);
    }
    AdminClient.Response name = admin.post("/api/listeners", "{\"name\": 5, \"protocol\": \"tcp\", \"bind\": \"127.0.0.1:0\", \"pool\": \"blue\"}");
    assertEquals(400, name.status(), name.toString());
    assertEquals("field 'name' must be a string", name.error());
  }

  /** Writes the body while it reads the answer, which may come (and the connection close) before the body ends. */
  private static String chunkedPost(String path, int size) throws IOException {
    InetSocketAddress address = fulcrum.adminAddress();
    try (Socket socket = new Socket(address.getAddress(), address.getPort())) {
      socket.setSoTimeout(10_000);
      java.io.OutputStream out = socket.getOutputStream();
      Thread writer = new Thread(() -> {
        try {
          out.write(("POST " + path + " HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
              + "Transfer-Encoding: chunked\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
          byte[] chunk = new byte[10_000];
          java.util.Arrays.fill(chunk, (byte) 'a');
          for (int sent = 0; sent < size; sent += chunk.length) {
            out.write((Integer.toHexString(chunk.length) + "\r\n").getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
            out.write(chunk);
            out.write("\r\n".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
          }
          out.write("0\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        } catch (IOException answeredEarly) {
          // the server answered and closed before the whole body was written
        }
      });
      writer.setDaemon(true);
      writer.start();
      java.io.ByteArrayOutputStream answer = new java.io.ByteArrayOutputStream();
      byte[] buf = new byte[8192];
      try {
        for (int n; (n = socket.getInputStream().read(buf)) > 0; ) {
          answer.write(buf, 0, n);
          if (answer.toString(java.nio.charset.StandardCharsets.UTF_8).contains("\"}")) break;
        }
      } catch (IOException reset) {
        // a reset after the answer: what was read is the answer
      }
      return answer.toString(java.nio.charset.StandardCharsets.UTF_8);
    }
  }

  private static boolean accepts(int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
