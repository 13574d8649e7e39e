package dev.fulcrum.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.config.BackendTlsSettings;
import dev.fulcrum.config.HealthCheckSettings;
import dev.fulcrum.config.HostPort;
import dev.fulcrum.nio.EventLoops;
import dev.fulcrum.routing.BackendStats;
import dev.fulcrum.testing.GrpcTestServer;
import dev.fulcrum.testing.RawTcpServer;
import dev.fulcrum.testing.TestCertificates;
import dev.fulcrum.tls.BackendTls;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** grpc.health.v1 checks against grpc-java's own health service, on the event loops as the other checks. */
class GrpcHealthCheckTest {
  private static final ActorTestKit kit = ActorTestKit.create();
  private static final EventLoops loops = new EventLoops("grpc-health-test", 2);
  private static final HealthProbes probes = new HealthProbes(loops);

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
    loops.stop();
  }

  private static HealthCheckSettings grpc(String service, Duration interval, Duration timeout) {
    return new HealthCheckSettings(HealthCheckSettings.Kind.GRPC, "/health", 200, Optional.empty(), interval, timeout, 1, 1)
        .withGrpcService(service);
  }

  private static HealthProbes.Outcome probe(String address, HealthCheckSettings check) throws Exception {
    HostPort backend = HostPort.parse(address, false);
    return probes.start(backend, check, HealthProbes.requestFor(backend, check)).outcome()
        .toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void theMessagesAreWhatProtobufWritesAndReads() throws Exception {
    for (String service : List.of("", "grpc.testing.SimpleService", "é".repeat(100))) {
      byte[] proto = HealthCheckRequest.newBuilder().setService(service).build().toByteArray();
      byte[] framed = GrpcHealthMessages.request(service);
      assertEquals(0, framed[0]);
      assertEquals(proto.length, ((framed[1] & 0xFF) << 24) | ((framed[2] & 0xFF) << 16) | ((framed[3] & 0xFF) << 8) | (framed[4] & 0xFF));
      assertArrayEquals(proto, java.util.Arrays.copyOfRange(framed, 5, framed.length), service);
    }
    for (ServingStatus status : List.of(ServingStatus.UNKNOWN, ServingStatus.SERVING, ServingStatus.NOT_SERVING, ServingStatus.SERVICE_UNKNOWN)) {
      byte[] message = HealthCheckResponse.newBuilder().setStatus(status).build().toByteArray();
      byte[] framed = new byte[5 + message.length];
      framed[4] = (byte) message.length;
      System.arraycopy(message, 0, framed, 5, message.length);
      assertEquals(status.getNumber(), GrpcHealthMessages.status(framed, framed.length), status.toString());
    }
    // an unknown field before the status is skipped, as protobuf readers must
    byte[] unknown = {0, 0, 0, 0, 6, 0x12, 0x02, 'h', 'i', 0x08, 0x01};
    assertEquals(GrpcHealthMessages.SERVING, GrpcHealthMessages.status(unknown, unknown.length));
    assertEquals(GrpcHealthMessages.COMPRESSED, GrpcHealthMessages.status(new byte[] {1, 0, 0, 0, 0}, 5));
    assertEquals(GrpcHealthMessages.MALFORMED, GrpcHealthMessages.status(new byte[] {0, 0, 0, 0, 9, 8}, 6));
    assertEquals(GrpcHealthMessages.MALFORMED, GrpcHealthMessages.status(new byte[] {0, 0, 0, 0, 2, 8, (byte) 0x80}, 7));
    assertEquals(GrpcHealthMessages.MALFORMED, GrpcHealthMessages.status(new byte[] {0, 0, 0}, 3));
  }

  @Test
  void servingPassesAndEverythingElseFails() throws Exception {
    try (GrpcTestServer server = GrpcTestServer.plain()) {
      Duration timeout = Duration.ofSeconds(3);
      assertInstanceOf(HealthProbes.Passed.class, probe(server.address(), grpc("", Duration.ofHours(1), timeout)));

      server.health("grpc.testing.SimpleService", ServingStatus.SERVING);
      assertInstanceOf(HealthProbes.Passed.class,
          probe(server.address(), grpc("grpc.testing.SimpleService", Duration.ofHours(1), timeout)));

      server.health("grpc.testing.SimpleService", ServingStatus.NOT_SERVING);
      HealthProbes.Failed notServing = assertInstanceOf(HealthProbes.Failed.class,
          probe(server.address(), grpc("grpc.testing.SimpleService", Duration.ofHours(1), timeout)));
      assertTrue(notServing.reason().contains("the service is NOT_SERVING"), notServing.reason());

      HealthProbes.Failed unknown = assertInstanceOf(HealthProbes.Failed.class,
          probe(server.address(), grpc("no.such.Service", Duration.ofHours(1), timeout)));
      assertTrue(unknown.reason().contains("grpc-status 5"), unknown.reason()); // NOT_FOUND
    }
  }

  @Test
  void anHttp1ServerOrARefusedConnectFails() throws Exception {
    try (RawTcpServer http1 = new RawTcpServer(socket -> {
      socket.getInputStream().read(new byte[1024]);
      socket.getOutputStream().write("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n".getBytes());
    })) {
      HealthProbes.Outcome outcome = probe(http1.address(), grpc("", Duration.ofHours(1), Duration.ofSeconds(3)));
      assertInstanceOf(HealthProbes.Failed.class, outcome, outcome.toString());
    }
    int port = dev.fulcrum.testing.TestConfig.freePort();
    assertInstanceOf(HealthProbes.Failed.class, probe("127.0.0.1:" + port, grpc("", Duration.ofHours(1), Duration.ofSeconds(3))));
  }

  @Test
  void aServerThatNeverAnswersTimesOutOnOneConnection() throws Exception {
    AtomicInteger open = new AtomicInteger();
    AtomicInteger most = new AtomicInteger();
    AtomicInteger accepted = new AtomicInteger();
    try (RawTcpServer silent = new RawTcpServer(socket -> {
      accepted.incrementAndGet();
      most.accumulateAndGet(open.incrementAndGet(), Math::max);
      try {
        socket.getInputStream().transferTo(java.io.OutputStream.nullOutputStream()); // reads the call, answers nothing
      } finally {
        open.decrementAndGet();
      }
    })) {
      HealthCheckSettings check = grpc("", Duration.ofMillis(50), Duration.ofMillis(300));
      HostPort backend = HostPort.parse(silent.address(), false);
      List<HealthProbes.Outcome> outcomes = new java.util.concurrent.CopyOnWriteArrayList<>();
      java.util.concurrent.CountDownLatch three = new java.util.concurrent.CountDownLatch(3);
      HealthProbes.Schedule schedule = probes.schedule(backend, check, HealthProbes.requestFor(backend, check), null,
          outcome -> {}, outcome -> {
            outcomes.add(outcome);
            three.countDown();
          });
      try {
        assertTrue(three.await(15, TimeUnit.SECONDS), "three checks did not end: " + outcomes);
      } finally {
        schedule.cancel();
      }
      for (HealthProbes.Outcome outcome : outcomes) {
        HealthProbes.TimedOut timedOut = assertInstanceOf(HealthProbes.TimedOut.class, outcome);
        assertTrue(timedOut.reason().contains("grpc check timed out after 300 ms"), timedOut.reason());
      }
      assertTrue(accepted.get() >= 3, "accepted " + accepted.get());
      assertEquals(1, most.get(), "the backend saw more than one check connection at once");
      dev.fulcrum.testing.Eventually.await(Duration.ofSeconds(5), "no probe connection left open", () -> probes.openConnections() == 0);
    }
  }

  /**
   * A gRPC check's verdict comes in the middle of decoding what it read (the frame decoder reads on after it): its read
   * buffer must not go back to the loop's pool before that, or the next check on the loop (an HTTP check reads into
   * the buffer as it gets it) finds it used up. One loop, so both checks share its pool.
   */
  @Test
  void anHttpCheckAfterAGrpcCheckOnTheSameLoopGetsAFreshBuffer() throws Exception {
    EventLoops one = new EventLoops("grpc-health-one-loop", 1);
    HealthProbes onOneLoop = new HealthProbes(one);
    try (GrpcTestServer grpcServer = GrpcTestServer.plain();
        RawTcpServer http = new RawTcpServer(socket -> {
          socket.getInputStream().read(new byte[4096]);
          socket.getOutputStream().write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nup".getBytes());
        })) {
      HealthCheckSettings httpCheck = new HealthCheckSettings(HealthCheckSettings.Kind.HTTP, "/health", 200,
          Optional.of("up"), Duration.ofHours(1), Duration.ofSeconds(5), 1, 1);
      HostPort grpcBackend = HostPort.parse(grpcServer.address(), false);
      HostPort httpBackend = HostPort.parse(http.address(), false);
      HealthCheckSettings grpcCheck = grpc("", Duration.ofHours(1), Duration.ofSeconds(5));
      for (int i = 0; i < 3; i++) {
        HealthProbes.Outcome grpcOutcome = onOneLoop.start(grpcBackend, grpcCheck, HealthProbes.requestFor(grpcBackend, grpcCheck))
            .outcome().toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertInstanceOf(HealthProbes.Passed.class, grpcOutcome, grpcOutcome.toString());
        HealthProbes.Outcome httpOutcome = onOneLoop.start(httpBackend, httpCheck, HealthProbes.requestFor(httpBackend, httpCheck))
            .outcome().toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertInstanceOf(HealthProbes.Passed.class, httpOutcome, "check " + i + ": " + httpOutcome);
      }
    } finally {
      one.stop();
    }
  }

  @Test
  void overTlsTheCheckSpeaksH2ByAlpn() throws Exception {
    Path dir = Files.createTempDirectory("fulcrum-grpc-tls");
    TestCertificates.selfSigned(dir, "grpc", true, "grpc.internal");
    BackendTls tls = BackendTls.of(new BackendTlsSettings(Optional.of(dir.resolve("grpc.pem").toString()), Optional.of("grpc.internal"),
        true, Optional.empty(), Optional.empty(), List.of("TLSv1.3", "TLSv1.2")));
    try (GrpcTestServer server = GrpcTestServer.tls(dir.resolve("grpc.pem"), dir.resolve("grpc.key"))) {
      // a first TLS handshake of a cold server and client JVM is slow on a busy machine
      HealthCheckSettings check = grpc("", Duration.ofHours(1), Duration.ofSeconds(10));
      HostPort backend = HostPort.parse(server.address(), false);
      CompletableFuture<HealthProbes.Outcome> first = new CompletableFuture<>();
      HealthProbes.Schedule schedule = probes.schedule(backend, check, HealthProbes.requestFor(backend, check), tls,
          first::complete, outcome -> {});
      try {
        HealthProbes.Outcome outcome = first.get(20, TimeUnit.SECONDS);
        assertInstanceOf(HealthProbes.Passed.class, outcome, outcome.toString());
      } finally {
        schedule.cancel();
      }
    }
  }

  @Test
  void aBackendActorFollowsTheServingStatus() {
    try (GrpcTestServer server = GrpcTestServer.plain()) {
      server.health("api", ServingStatus.SERVING);
      TestProbe<BackendActor.Transition> router = kit.createTestProbe();
      ActorRef<BackendActor.Command> actor = kit.spawn(BackendActor.create("pool", HostPort.parse(server.address(), false),
          grpc("api", Duration.ofMillis(100), Duration.ofSeconds(2)), new BackendStats(), router.ref(), probes));
      assertEquals(Health.UP, router.receiveMessage(Duration.ofSeconds(5)).health());
      server.health("api", ServingStatus.NOT_SERVING);
      BackendActor.Transition down = router.receiveMessage(Duration.ofSeconds(5));
      assertEquals(Health.DOWN, down.health());
      assertTrue(down.reason().contains("gRPC check") && down.reason().contains("NOT_SERVING"), down.reason());
      server.health("api", ServingStatus.SERVING);
      assertEquals(Health.UP, router.receiveMessage(Duration.ofSeconds(5)).health());
      kit.stop(actor);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
