package dev.fulcrum.backend;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.config.HealthCheckSettings;
import dev.fulcrum.config.HostPort;
import dev.fulcrum.nio.EventLoops;
import dev.fulcrum.routing.BackendStats;
import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.HangingBackend;
import dev.fulcrum.testing.RawTcpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class HealthProbesTest {
  private static final ActorTestKit kit = ActorTestKit.create();
  private static final EventLoops loops = new EventLoops("health-probes-test", 2);
  private static final HealthProbes probes = new HealthProbes(loops);

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
    loops.stop();
  }

  private static HealthCheckSettings http(String expectBody, Duration interval, Duration timeout) {
    return new HealthCheckSettings(HealthCheckSettings.Kind.HTTP, "/health", 200,
        expectBody.isEmpty() ? Optional.empty() : Optional.of(expectBody), interval, timeout, 1, 1);
  }

  private static HealthProbes.Outcome probe(String address, HealthCheckSettings check) throws Exception {
    HostPort backend = HostPort.parse(address, false);
    byte[] request = check.kind() == HealthCheckSettings.Kind.HTTP ? HealthProbes.request(backend, check) : null;
    return probes.start(backend, check, request).outcome().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /** The request head a test backend read, up to its empty line. */
  private static String readHead(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    while (!head.toString(ISO_8859_1).endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) break;
      head.write(b);
    }
    return head.toString(ISO_8859_1);
  }

  @Test
  void methodHostAndHeadersReachTheBackend() throws Exception {
    CompletableFuture<String> seen = new CompletableFuture<>();
    try (RawTcpServer backend = new RawTcpServer(socket -> {
      seen.complete(readHead(socket.getInputStream()));
      socket.getOutputStream().write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nup".getBytes(ISO_8859_1));
    })) {
      HealthCheckSettings check = http("up", Duration.ofHours(1), Duration.ofSeconds(2))
          .withRequest("OPTIONS", Optional.of("health.internal:8443"), Map.of("X-Check", "fulcrum", "Authorization", "Bearer t"));
      assertInstanceOf(HealthProbes.Passed.class, probe(backend.address(), check));
      List<String> lines = List.of(seen.get(5, TimeUnit.SECONDS).split("\r\n"));
      assertEquals("OPTIONS /health HTTP/1.1", lines.get(0));
      assertTrue(lines.contains("Host: health.internal:8443"), lines.toString());
      assertTrue(lines.contains("X-Check: fulcrum"), lines.toString());
      assertTrue(lines.contains("Authorization: Bearer t"), lines.toString());
      assertTrue(lines.contains("Connection: close"), lines.toString());
      assertEquals(1, lines.stream().filter(l -> l.startsWith("Host:")).count(), lines.toString());
    }
  }

  @Test
  void theDefaultRequestIsAGetWithTheBackendsAddressAsHost() throws Exception {
    CompletableFuture<String> seen = new CompletableFuture<>();
    try (RawTcpServer backend = new RawTcpServer(socket -> {
      seen.complete(readHead(socket.getInputStream()));
      socket.getOutputStream().write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".getBytes(ISO_8859_1));
    })) {
      assertInstanceOf(HealthProbes.Passed.class, probe(backend.address(), http("", Duration.ofHours(1), Duration.ofSeconds(2))));
      String head = seen.get(5, TimeUnit.SECONDS);
      assertTrue(head.startsWith("GET /health HTTP/1.1\r\nHost: " + backend.address() + "\r\n"), head);
    }
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', textBlock = """
      content-length          | HTTP/1.1 200 OK\\r\\nContent-Length: 4\\r\\n\\r\\n up\\n                              | up | passed
      chunked                 | HTTP/1.1 200 OK\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n1;x=y\\r\\nu\\r\\n1\\r\\np\\r\\n0\\r\\n\\r\\n | up | passed
      until close             | HTTP/1.1 200 OK\\r\\nConnection: close\\r\\n\\r\\nup                                | up | passed
      wrong chunked body      | HTTP/1.1 200 OK\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n4\\r\\ndown\\r\\n0\\r\\n\\r\\n | up | body was 'down', expected 'up'
      wrong status            | HTTP/1.1 503 Service Unavailable\\r\\nContent-Length: 2\\r\\n\\r\\nup                 | up | answered 503, expected 200
      malformed head          | HTTP/1.1 2OO OK\\r\\n\\r\\n                                                         | up | answered a malformed response: malformed status line
      malformed chunked       | HTTP/1.1 200 OK\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\nzz\\r\\n                  | up | answered a malformed chunked body
      closed in the head      | HTTP/1.1 200 OK\\r\\nContent-Le                                                   |    | before a complete response head
      closed in the body      | HTTP/1.1 200 OK\\r\\nContent-Length: 10\\r\\n\\r\\nup                               | up | before the end of the body
      body too large          | HTTP/1.1 200 OK\\r\\nContent-Length: 1000000\\r\\n\\r\\nup                          | up | more than a check reads
      no body needed          | HTTP/1.1 200 OK\\r\\nContent-Length: 1000000\\r\\n\\r\\nup                          |    | passed
      """)
  void responsesAreJudgedAsBefore(String name, String response, String expectBody, String expected) throws Exception {
    byte[] bytes = response.replace("\\r", "\r").replace("\\n", "\n").getBytes(ISO_8859_1);
    try (RawTcpServer backend = new RawTcpServer(socket -> {
      readHead(socket.getInputStream());
      socket.getOutputStream().write(bytes);
    })) {
      HealthProbes.Outcome outcome =
          probe(backend.address(), http(expectBody == null ? "" : expectBody, Duration.ofHours(1), Duration.ofSeconds(3)));
      if (expected.equals("passed")) {
        assertInstanceOf(HealthProbes.Passed.class, outcome, outcome.toString());
      } else {
        HealthProbes.Failed failed = assertInstanceOf(HealthProbes.Failed.class, outcome, outcome.toString());
        assertTrue(failed.reason().contains(expected), failed.reason());
      }
    }
  }

  /** A backend that accepts and never answers, counting the connections it holds open (until the peer closes). */
  private static final class Silent implements AutoCloseable {
    final AtomicInteger accepted = new AtomicInteger();
    final AtomicInteger open = new AtomicInteger();
    final AtomicInteger maxOpen = new AtomicInteger();
    final AtomicInteger closedByPeer = new AtomicInteger();
    final RawTcpServer server = new RawTcpServer(this::hold);

    private void hold(Socket socket) {
      accepted.incrementAndGet();
      maxOpen.accumulateAndGet(open.incrementAndGet(), Math::max);
      try {
        socket.getInputStream().transferTo(OutputStream.nullOutputStream());
      } catch (IOException reset) {
        // a check closes with a reset: closed all the same
      } finally {
        open.decrementAndGet();
        closedByPeer.incrementAndGet();
      }
    }

    String address() {
      return server.address();
    }

    @Override
    public void close() throws IOException {
      server.close();
    }
  }

  @Test
  void theChecksOwnTimeoutClosesItsConnection() throws Exception {
    try (Silent backend = new Silent()) {
      long start = System.nanoTime();
      HealthProbes.Outcome outcome = probe(backend.address(), http("", Duration.ofHours(1), Duration.ofMillis(300)));
      long took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
      HealthProbes.TimedOut timedOut = assertInstanceOf(HealthProbes.TimedOut.class, outcome, outcome.toString());
      assertEquals("http check timed out after 300 ms", timedOut.reason());
      assertTrue(took >= 290, "timed out after only " + took + " ms");
      assertEquals(0, probes.openConnections(), "probe connections still open");
      Eventually.await(Duration.ofSeconds(5), "the backend to see the check's connection closed",
          () -> backend.closedByPeer.get() == 1 && backend.open.get() == 0);
    }
  }

  @Test
  void aConnectThatHangsTimesOutAndLeavesNoConnection() throws Exception {
    try (HangingBackend backend = new HangingBackend()) {
      backend.fill();
      HealthCheckSettings tcp = new HealthCheckSettings(HealthCheckSettings.Kind.TCP, "/", 200, Optional.empty(),
          Duration.ofHours(1), Duration.ofMillis(200), 1, 1);
      HealthProbes.Outcome outcome = probe(backend.address(), tcp);
      assertEquals(new HealthProbes.TimedOut("tcp check timed out after 200 ms"), outcome);
      assertEquals(0, probes.openConnections());
    }
  }

  @Test
  void aHangingTargetHoldsAtMostOneCheckConnectionPerNode() throws Exception {
    try (Silent backend = new Silent()) {
      // a timeout longer than the interval: the checks would overlap if the next one did not wait for the last
      HealthCheckSettings check = http("", Duration.ofMillis(50), Duration.ofMillis(200));
      TestProbe<BackendActor.Transition> router = kit.createTestProbe();
      ActorRef<BackendActor.Command> actor =
          kit.spawn(BackendActor.create("pool", HostPort.parse(backend.address(), false), check, new BackendStats(), router.ref(), probes));
      List<Integer> sampled = Collections.synchronizedList(new ArrayList<>());
      Eventually.await(Duration.ofSeconds(15), "6 checks to reach the hanging backend", () -> {
        sampled.add(probes.openConnections());
        return backend.accepted.get() >= 6;
      });
      kit.stop(actor);
      assertEquals(1, backend.maxOpen.get(), "connections the hanging backend held at once");
      assertTrue(sampled.stream().allMatch(open -> open <= 1), "probe connections open at once: " + sampled);
      Eventually.await(Duration.ofSeconds(5), "the last check's connection closed once its actor stopped",
          () -> probes.openConnections() == 0 && backend.open.get() == 0);
    }
  }

  @Test
  void checkDelaysAreSpreadAndJittered() {
    Duration interval = Duration.ofSeconds(2);
    assertEquals(Duration.ZERO, HealthProbes.firstCheckDelay(interval, 0));
    assertEquals(Duration.ofMillis(999), HealthProbes.firstCheckDelay(interval, 0.999).truncatedTo(java.time.temporal.ChronoUnit.MILLIS));
    assertEquals(Duration.ofMillis(50), HealthProbes.firstCheckDelay(Duration.ofMillis(100), 0.5), "spread within a short interval");
    assertEquals(interval, HealthProbes.nextCheckDelay(interval, 0), "never sooner than the interval");
    assertEquals(Duration.ofMillis(2100), HealthProbes.nextCheckDelay(interval, 0.5));
  }

  @Test
  void firstChecksOfManyBackendsAreSpreadOverTheInterval() throws Exception {
    List<Long> accepts = Collections.synchronizedList(new ArrayList<>());
    try (RawTcpServer backend = new RawTcpServer(socket -> accepts.add(System.nanoTime()))) {
      HealthCheckSettings tcp = new HealthCheckSettings(HealthCheckSettings.Kind.TCP, "/", 200, Optional.empty(),
          Duration.ofSeconds(1), Duration.ofMillis(500), 1, 1);
      TestProbe<BackendActor.Transition> router = kit.createTestProbe();
      int actors = 20;
      List<ActorRef<BackendActor.Command>> started = new ArrayList<>();
      for (int i = 0; i < actors; i++) {
        started.add(kit.spawn(BackendActor.create("pool", HostPort.parse(backend.address(), false), tcp, new BackendStats(), router.ref(), probes)));
      }
      Eventually.await(Duration.ofSeconds(10), actors + " first checks", () -> accepts.size() >= actors);
      started.forEach(kit::stop);
      List<Long> first = new ArrayList<>(accepts.subList(0, actors));
      Collections.sort(first);
      long spreadMillis = TimeUnit.NANOSECONDS.toMillis(first.get(actors - 1) - first.get(0));
      // 20 draws uniform over 1 s span less than 300 ms with a probability of about 1e-9
      assertTrue(spreadMillis >= 300, "first checks all within " + spreadMillis + " ms");
    }
  }
}
