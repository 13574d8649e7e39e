package dev.fulcrum.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fulcrum.Fulcrum;
import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.PoolHealth;
import dev.fulcrum.testing.RawTcpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.function.Predicate;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The client address of a PROXY header (v1 and v2) is the one the access log records and the one a pool hashing on
 * the client IP ({@code consistent-hash}, {@code hash-key = client-ip}; TCP listeners always hash it) hashes, on HTTP
 * and TCP listeners, also for a sticky pool's first choice (the cookie itself names a backend, not an address):
 * behind a balancer every connection comes from the balancer's address, so anything else would put every client on
 * one backend. The nio engine only (PROXY in is the nio engine's).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ProxyProtocolClientAddressTest {
  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final ObjectMapper JSON = new ObjectMapper();

  private ActorSystem<Void> backends;
  private final List<RawTcpServer> tcpBackends = new ArrayList<>();
  private Fulcrum fulcrum;
  private Path accessLog;
  private int port;
  private int tcpPort;

  @BeforeAll
  void start() throws IOException {
    accessLog = Files.createTempDirectory("fulcrum-proxy-access").resolve("access.log");
    backends = ActorSystem.create(Behaviors.empty(), "backends");
    RecordingBackend one = new RecordingBackend(backends, "one");
    RecordingBackend two = new RecordingBackend(backends, "two");
    RecordingBackend three = new RecordingBackend(backends, "three");
    for (String name : List.of("one", "two", "three")) {
      tcpBackends.add(new RawTcpServer(socket -> {
        socket.getOutputStream().write(name.getBytes(StandardCharsets.US_ASCII));
        socket.shutdownOutput();
        socket.getInputStream().transferTo(OutputStream.nullOutputStream());
      }));
    }
    fulcrum = Fulcrum.start(ProxyTests.config("nio", """
        fulcrum.access-log { path = "%s", format = json }
        # bounded-load off: a connection still closing would move the next key on (as documented); the key alone here
        fulcrum.balancing.bounded-load = 0
        fulcrum.pools.web { backends = ["%s", "%s", "%s"], strategy = consistent-hash, hash-key = client-ip }
        fulcrum.listeners.http.behind-lb { bind = "127.0.0.1:0", routes = [{pool = web}], proxy-protocol.trusted = ["127.0.0.0/8"] }
        fulcrum.pools.sticky { backends = ["%s", "%s", "%s"], strategy = consistent-hash, hash-key = client-ip }
        fulcrum.http.pools.sticky.sticky { enabled = on, cookie = "SRV" }
        fulcrum.listeners.http.sticky-behind-lb { bind = "127.0.0.1:0", routes = [{pool = sticky}], proxy-protocol.trusted = ["127.0.0.0/8"] }
        fulcrum.pools.l4 { backends = ["%s", "%s", "%s"], strategy = consistent-hash, health-check.type = tcp }
        fulcrum.listeners.tcp.l4-behind-lb { bind = "127.0.0.1:0", pool = l4, proxy-protocol.trusted = ["127.0.0.0/8"] }
        """.formatted(accessLog, one.address(), two.address(), three.address(), one.address(), two.address(), three.address(),
        tcpBackends.get(0).address(), tcpBackends.get(1).address(), tcpBackends.get(2).address())));
    port = fulcrum.httpListener("behind-lb").localAddress().getPort();
    tcpPort = fulcrum.tcpListener("l4-behind-lb").localAddress().getPort();
    PoolHealth.awaitAllUp(fulcrum, "web", 3);
    PoolHealth.awaitAllUp(fulcrum, "l4", 3);
    PoolHealth.awaitAllUp(fulcrum, "sticky", 3);
  }

  @AfterAll
  void stop() throws Exception {
    try {
      ProxyTests.stop(fulcrum, backends);
    } finally {
      for (RawTcpServer server : tcpBackends) server.close();
    }
  }

  @Test
  void theAccessLogRecordsTheAddressOfTheHeaderNotTheBalancers() {
    String v1 = UUID.randomUUID().toString();
    assertEquals(200, exchange(v1("198.51.100.23", 40001), v1).status());
    JsonNode first = line(v1);
    assertEquals("198.51.100.23", first.get("client_ip").asText());
    assertEquals(40001, first.get("client_port").asInt());

    String v2 = UUID.randomUUID().toString();
    assertEquals(200, exchange(v2(new byte[] {(byte) 203, 0, 113, 77}, 50002), v2).status());
    JsonNode second = line(v2);
    assertEquals("203.0.113.77", second.get("client_ip").asText());
    assertEquals(50002, second.get("client_port").asInt());
  }

  @Test
  void theClientIpHashKeysOnTheAddressOfTheHeader() {
    // every connection comes from 127.0.0.1: hashed on that, all 24 clients would share one backend
    Map<String, String> backendOf = new HashMap<>();
    for (int client = 1; client <= 24; client++) {
      String address = "198.51.100." + client;
      for (int again = 0; again < 3; again++) {
        // a new connection (and source port) each time: the key is the address alone
        RawHttp.Response response = exchange(v1(address, 30000 + client * 10 + again), UUID.randomUUID().toString());
        assertEquals(200, response.status());
        String previous = backendOf.putIfAbsent(address, response.body());
        if (previous != null) assertEquals(previous, response.body(), address + " moved between backends");
      }
    }
    // keyed on 127.0.0.1 all would share one; 24 addresses on one backend by chance: 3^-23
    assertTrue(new HashSet<>(backendOf.values()).size() >= 2, "24 client addresses spread: " + backendOf);
  }

  @Test
  void aStickyPoolsFirstChoiceForAClientWithoutTheCookieIsTheHashOfTheHeadersAddress() {
    int stickyPort = fulcrum.httpListener("sticky-behind-lb").localAddress().getPort();
    Map<String, String> cookieOf = new HashMap<>();
    Set<String> used = new HashSet<>();
    for (int client = 1; client <= 24; client++) {
      String address = "198.51.100." + (100 + client);
      for (int again = 0; again < 2; again++) {
        RawHttp.Response response = exchange(stickyPort, v1(address, 31000 + client * 10 + again), UUID.randomUUID().toString());
        assertEquals(200, response.status());
        String cookie = response.header("Set-Cookie");
        assertTrue(cookie != null && cookie.startsWith("SRV="), "a client without the cookie gets one: " + response);
        String previous = cookieOf.putIfAbsent(address, cookie.split(";")[0]);
        if (previous != null) assertEquals(previous, cookie.split(";")[0], address + " was given another backend");
        used.add(response.body());
      }
    }
    assertTrue(used.size() >= 2, "24 client addresses spread over the backends: " + used);
  }

  @Test
  void onATcpListenerTooTheHeadersClientIsHashedAndLogged() {
    Map<String, String> backendOf = new HashMap<>();
    for (int client = 1; client <= 24; client++) {
      String address = "192.0.2." + client;
      for (int again = 0; again < 2; again++) {
        String backend = tcpExchange(v1(address, 20000 + client * 10 + again));
        String previous = backendOf.putIfAbsent(address, backend);
        if (previous != null) assertEquals(previous, backend, address + " moved between backends");
      }
    }
    assertTrue(new HashSet<>(backendOf.values()).size() >= 2, "spread: " + backendOf);
    JsonNode line = Eventually.await(WAIT, "the access-log line of 192.0.2.7's connection",
        () -> find(node -> "tcp".equals(node.path("type").asText()) && "192.0.2.7".equals(node.path("client_ip").asText())),
        Optional::isPresent).get();
    assertEquals("l4-behind-lb", line.get("listener").asText());
    assertTrue(Set.of(20070, 20071).contains(line.get("client_port").asInt()), line.toString());
  }

  /** One TCP connection through the L4 listener: the PROXY header, then what the backend says before it closes. */
  private String tcpExchange(byte[] proxyHeader) {
    try (Socket socket = new Socket("127.0.0.1", tcpPort)) {
      socket.setSoTimeout(10_000);
      socket.getOutputStream().write(proxyHeader);
      socket.shutdownOutput();
      return new String(socket.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static byte[] v1(String client, int clientPort) {
    return ("PROXY TCP4 " + client + " 127.0.0.1 " + clientPort + " 80\r\n").getBytes(StandardCharsets.US_ASCII);
  }

  private static byte[] v2(byte[] client, int clientPort) {
    ByteBuffer b = ByteBuffer.allocate(16 + 12);
    b.put(new byte[] {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x21, 0x11, 0x00, 0x0C});
    b.put(client).put(new byte[] {127, 0, 0, 1}).putShort((short) clientPort).putShort((short) 80);
    return b.array();
  }

  /** One connection: the PROXY header, one request (closing), its response. */
  private RawHttp.Response exchange(byte[] proxyHeader, String requestId) {
    return exchange(port, proxyHeader, requestId);
  }

  private static RawHttp.Response exchange(int port, byte[] proxyHeader, String requestId) {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(10_000);
      socket.getOutputStream().write(proxyHeader);
      socket.getOutputStream().write(("GET / HTTP/1.1\r\nHost: x\r\nX-Request-Id: " + requestId + "\r\nConnection: close\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      InputStream in = socket.getInputStream();
      String answer = new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
      assertTrue(answer.startsWith("HTTP/1.1 "), "no response: '" + answer + "'");
      int status = Integer.parseInt(answer.substring(9, 12));
      int headEnd = answer.indexOf("\r\n\r\n");
      Map<String, List<String>> headers = new HashMap<>();
      for (String line : answer.substring(0, headEnd).split("\r\n")) {
        int colon = line.indexOf(':');
        if (colon > 0) headers.computeIfAbsent(line.substring(0, colon).toLowerCase(java.util.Locale.ROOT), k -> new ArrayList<>())
            .add(line.substring(colon + 1).trim());
      }
      return new RawHttp.Response(status, headers, answer.substring(headEnd + 4));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private JsonNode line(String requestId) {
    return Eventually.await(WAIT, "the access-log line of " + requestId, () -> find(requestId), Optional::isPresent).get();
  }

  private Optional<JsonNode> find(String requestId) {
    return find(node -> requestId.equals(node.path("request_id").asText()));
  }

  private Optional<JsonNode> find(Predicate<JsonNode> wanted) {
    try {
      if (!Files.exists(accessLog)) return Optional.empty();
      for (String text : Files.readAllLines(accessLog)) {
        JsonNode node;
        try {
          node = JSON.readTree(text);
        } catch (com.fasterxml.jackson.core.JsonProcessingException lineBeingWritten) {
          continue;
        }
        if (wanted.test(node)) return Optional.of(node);
      }
      return Optional.empty();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
