package dev.fulcrum.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.testing.PoolHealth;
import dev.fulcrum.testing.RawTcpServer;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Where the nio engine answers differently from the Pekko engine, on purpose (stricter, as nginx), or does what Pekko
 * cannot (see {@link PekkoEngineTest} for the other side, and the README's "The HTTP (L7) listener").
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class NioEngineTest {
  private ActorSystem<Void> backends;
  private RecordingBackend web;
  private RecordingBackend api;
  private RawBackend closing;
  private RawTcpServer limited;
  private RawTcpServer gated;
  private final java.util.concurrent.CountDownLatch gateOpen = new java.util.concurrent.CountDownLatch(1);
  private final java.util.concurrent.CountDownLatch gateReached = new java.util.concurrent.CountDownLatch(1);
  private final AtomicInteger limitedOpen = new AtomicInteger();
  private final AtomicInteger limitedMostOpen = new AtomicInteger();
  private Fulcrum fulcrum;
  private int port;
  private int impatientPort;

  @BeforeAll
  void start() throws Exception {
    backends = ActorSystem.create(Behaviors.empty(), "backends");
    web = new RecordingBackend(backends, "web", request -> org.apache.pekko.http.javadsl.model.HttpResponse.create()
        .withEntity(RecordingBackend.target(request)));
    api = new RecordingBackend(backends, "api");
    closing = new RawBackend(RawBackend.Behaviour.CLOSE_AFTER_ANSWER);
    limited = new RawTcpServer(this::serveCountingConnections);
    gated = new RawTcpServer(this::serveWhenTheGateOpens);
    fulcrum = Fulcrum.start(ProxyTests.config("nio",
        """
        fulcrum.event-loops = 2
        fulcrum.pools.web.backends = ["%s"]
        fulcrum.pools.api.backends = ["%s"]
        fulcrum.pools.closing.backends = ["%s"]
        fulcrum.pools.limited { backends = ["%s"], health-check.type = tcp }
        fulcrum.http.pools.limited.max-connections-per-backend = 1
        fulcrum.pools.gated { backends = ["%s"], health-check.type = tcp }
        fulcrum.http.pools.gated { max-connections-per-backend = 1, queue-size = 1, queue-timeout = 300ms }
        fulcrum.listeners.http.main {
          bind = "127.0.0.1:0"
          routes = [
            {pool = web}
            {host = "api.example.com", pool = api}
            {path = "/closing", pool = closing}
            {path = "/limited", pool = limited}
            {path = "/gated", pool = gated}
          ]
          firewall.deny-paths = ["/admin/*"]
        }
        fulcrum.listeners.http.impatient { bind = "127.0.0.1:0", client-idle-timeout = 700ms, routes = [{pool = web}] }
        """.formatted(web.address(), api.address(), closing.address(), limited.address(), gated.address())));
    port = fulcrum.httpListener("main").localAddress().getPort();
    impatientPort = fulcrum.httpListener("impatient").localAddress().getPort();
    for (String pool : List.of("web", "api", "closing", "limited", "gated")) PoolHealth.awaitAllUp(fulcrum, pool, 1);
  }

  @AfterAll
  void stop() throws Exception {
    ProxyTests.stop(fulcrum, backends);
    closing.close();
    limited.close();
    gateOpen.countDown();
    gated.close();
  }

  @BeforeEach
  void clear() {
    web.clear();
    api.clear();
  }

  @Test
  void requestLineWithTwoSpacesIsMalformed() {
    assertRefused(400, "GET  / HTTP/1.1\r\nHost: x\r\n\r\n");
  }

  @Test
  void obsFoldedHeaderIsRefused() {
    // as nginx: a fold is a smuggling vector for servers that read it differently, so it is not guessed at
    assertRefused(400, "GET / HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\nConnection: close\r\n\r\n");
  }

  @Test
  void malformedChunkSizeInTheClientsBodyGives400() {
    assertRefused(400, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n");
  }

  @Test
  void chunkedHttp10RequestIsRefusedAndNotForwarded() {
    // RFC 9112 6.1: Transfer-Encoding in HTTP/1.0 means faulty framing
    assertRefused(400, "POST / HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n");
  }

  @Test
  void http10RequestWithoutHostNamesTheBackendAsHost() {
    try (RawHttp http = new RawHttp(port)) {
      http.send("GET /old HTTP/1.0\r\n\r\n");
      RawHttp.Response response = http.read();
      assertEquals(200, response.status(), response.body());
      assertEquals("/old", response.body());
      assertTrue(http.closedByPeer(), "HTTP/1.0 without keep-alive closes after the response");
    }
    assertEquals(web.address(), web.next().header("Host"));
  }

  @Test
  void absoluteFormTargetWithoutHostIsRoutedByTheTargetsHost() {
    assertEquals(200, RawHttp.exchange(port, "GET http://api.example.com/x HTTP/1.0\r\n\r\n").status());
    assertEquals("api.example.com", api.next().header("Host"));
  }

  @Test
  void headTrickledInSlowerThanTheIdleTimeoutGets408() {
    String head = "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + "a".repeat(100);
    ScheduledExecutorService trickle = Executors.newSingleThreadScheduledExecutor();
    try (RawHttp http = new RawHttp(impatientPort)) {
      AtomicInteger sent = new AtomicInteger();
      // a byte every 200 ms keeps the connection from ever being idle for the 700 ms timeout
      trickle.scheduleAtFixedRate(() -> {
        int i = sent.getAndIncrement();
        if (i < head.length()) http.send(head.substring(i, i + 1));
      }, 0, 200, TimeUnit.MILLISECONDS);
      RawHttp.Response response = http.read();
      assertEquals(408, response.status(), response.body());
      assertTrue(sent.get() < head.length(), "answered at the timeout, not when the head ended");
    } finally {
      trickle.shutdownNow();
    }
  }

  @Test
  void backendClosingEveryKeptAliveConnectionNeverCostsAClientAnError() {
    // each pooled connection is closed by the backend just after its answer: reusing one races that close, and a
    // request on a one-backend pool that never reached the backend is sent again on a new connection
    try (RawHttp http = new RawHttp(port)) {
      for (int i = 0; i < 50; i++) {
        http.send("GET /closing HTTP/1.1\r\nHost: x\r\n\r\n");
        RawHttp.Response response = http.read();
        assertEquals(200, response.status(), "request " + i + ": " + response.body());
      }
    }
  }

  @Test
  void aBackendsConnectionLimitHoldsAcrossAllEventLoops() throws Exception {
    // 8 clients spread over the 2 loops; the backend takes 1 connection in all, each loop does not get 1 of its own
    List<CompletableFuture<Integer>> statuses = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      statuses.add(CompletableFuture.supplyAsync(() -> RawHttp.get(port, "x", "/limited").status()));
    }
    for (CompletableFuture<Integer> status : statuses) assertEquals(200, status.get(60, TimeUnit.SECONDS));
    assertEquals(1, limitedMostOpen.get(), "most connections open at once to a backend limited to 1");
  }

  @Test
  void requestsBeyondTheConnectionLimitQueueThenGet503AtTheQueueTimeoutOrWhenTheQueueIsFull() throws Exception {
    // one connection, held by the first request until the gate opens; one place in the queue
    CompletableFuture<RawHttp.Response> first = CompletableFuture.supplyAsync(() -> RawHttp.get(port, "x", "/gated"));
    assertTrue(gateReached.await(10, TimeUnit.SECONDS), "the first request reached the backend");
    CompletableFuture<RawHttp.Response> second = CompletableFuture.supplyAsync(() -> RawHttp.get(port, "x", "/gated"));
    CompletableFuture<RawHttp.Response> third = CompletableFuture.supplyAsync(() -> RawHttp.get(port, "x", "/gated"));
    List<String> answers = new ArrayList<>();
    for (CompletableFuture<RawHttp.Response> waiting : List.of(second, third)) {
      RawHttp.Response response = waiting.get(10, TimeUnit.SECONDS);
      assertEquals(503, response.status(), response.body());
      answers.add(response.body().contains("came free within 300 ms") ? "queue timeout" : response.body());
    }
    // whichever came first waited its 300 ms in the queue; the other found the queue full
    assertTrue(answers.contains("queue timeout"), answers.toString());
    assertTrue(answers.stream().anyMatch(a -> a.contains("backends busy: too many requests waiting")), answers.toString());
    assertTrue(!first.isDone(), "both were answered while the first still held the connection");
    gateOpen.countDown();
    assertEquals(200, first.get(10, TimeUnit.SECONDS).status());
  }

  /** The request gets {@code status}, the connection is closed after it, and nothing reaches the backend. */
  private void assertRefused(int status, String request) {
    RawHttp.assertRefused(port, status, request);
    assertEquals(0, web.pending(), "nothing was forwarded for: " + request);
  }

  /** Answers once the test opens the gate. */
  private void serveWhenTheGateOpens(Socket socket) throws java.io.IOException {
    BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.ISO_8859_1));
    String line;
    while ((line = in.readLine()) != null) {
      if (!line.isEmpty()) continue;
      gateReached.countDown();
      try {
        if (!gateOpen.await(30, TimeUnit.SECONDS)) return;
      } catch (InterruptedException e) {
        return;
      }
      socket.getOutputStream().write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".getBytes(StandardCharsets.ISO_8859_1));
    }
  }

  /** Keep-alive answers, each after a pause, counting how many connections carry requests at once. */
  private void serveCountingConnections(Socket socket) throws java.io.IOException {
    BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.ISO_8859_1));
    OutputStream out = socket.getOutputStream();
    boolean counted = false;
    try {
      String line;
      while ((line = in.readLine()) != null) {
        if (!line.isEmpty()) continue;
        if (!counted) {
          counted = true;
          limitedMostOpen.accumulateAndGet(limitedOpen.incrementAndGet(), Math::max);
        }
        // a slow backend: the other requests queue for the one connection meanwhile
        java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));
        out.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
      }
    } finally {
      if (counted) limitedOpen.decrementAndGet();
    }
  }
}
