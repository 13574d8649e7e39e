package dev.fulcrum.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.http.h2.H2Request;
import dev.fulcrum.http.h2.H2ServerConnection;
import dev.fulcrum.http.h2.H2Settings;
import dev.fulcrum.http.h2.RawFrames;
import dev.fulcrum.http.wire.HeaderFields;
import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.PoolHealth;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.eclipse.jetty.http2.ErrorCode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * An h2c backend that misbehaves as each request's path asks (Fulcrum's own frame layer on blocking sockets, raw
 * frames where it breaks the protocol): a graceful GOAWAY (the request under way finishes, the next one goes on a new
 * connection; a stream above its last-stream-id retried on a new one), a reset stream (502), a refused stream
 * (retried, answered), a malformed frame and a flow-control violation (502), a stream never answered (504 after the
 * client's grpc-timeout or the pool's response timeout) or whose response stalls (cut after the backend idle
 * timeout), both reset on the backend; a gRPC client gets the reset as UNAVAILABLE; the listener serves on after each.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HostileH2BackendTest {
  private final AtomicInteger connections = new AtomicInteger();
  private final AtomicBoolean refusedOnce = new AtomicBoolean();
  /** The connection and stream of a {@code /held} request, answered once a later stream comes. */
  private final java.util.concurrent.atomic.AtomicReference<Object[]> held = new java.util.concurrent.atomic.AtomicReference<>();
  /** Streams of {@code /hang} requests that Fulcrum reset. */
  private final AtomicInteger hangsReset = new AtomicInteger();
  /** Streams of {@code /stall} requests that Fulcrum reset. */
  private final AtomicInteger stallsReset = new AtomicInteger();
  private ServerSocket backend;
  private ActorSystem<Void> system;
  private Fulcrum fulcrum;
  private int port;

  @BeforeAll
  void start() throws Exception {
    backend = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
    daemon(this::serve);
    system = ActorSystem.create(Behaviors.empty(), "hostile-h2");
    // one loop: each loop has its own backend connections, and the GOAWAY test needs both clients' streams on one
    fulcrum = Fulcrum.start(ProxyTests.config("nio", """
        fulcrum.event-loops = 1
        fulcrum.pools.hostile {
          backends = ["127.0.0.1:%d"], protocol = h2c, health-check.type = tcp
          outlier-detection { consecutive-local-origin-failures = 0, consecutive-gateway-errors = 0, consecutive-5xx = 0 }
        }
        fulcrum.http.pools.hostile { response-timeout = 3s, backend-idle-timeout = 3s }
        fulcrum.listeners.http.l { bind = "127.0.0.1:0", http2.cleartext = on, routes = [{pool = hostile, path = "/"}] }
        """.formatted(backend.getLocalPort())));
    PoolHealth.awaitAllUp(fulcrum, "hostile", 1);
    port = fulcrum.httpListener("l").localAddress().getPort();
  }

  @AfterAll
  void stop() throws Exception {
    try {
      if (backend != null) backend.close();
    } finally {
      ProxyTests.stop(fulcrum, system);
    }
  }

  private RawHttp.Response get(String path) {
    return RawHttp.exchange(port, "GET " + path + " HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  }

  private void stillServes() {
    RawHttp.Response ok = get("/ok");
    assertEquals(200, ok.status(), ok.toString());
    assertTrue(ok.body().startsWith("conn-"), ok.body());
  }

  @Test
  void aGracefulGoawayFinishesTheStreamAndTheNextRequestTakesANewConnection() {
    RawHttp.Response last = get("/goaway");
    assertEquals(200, last.status(), last.toString());
    assertTrue(last.body().endsWith("going away"), last.body());
    String old = last.body().split(" ")[0];
    RawHttp.Response next = get("/ok");
    assertEquals(200, next.status(), next.toString());
    assertNotEquals(old, next.body(), "a connection that said GOAWAY takes no new streams");
  }

  @Test
  void aStreamAboveTheGoawaysLastStreamIdIsRetriedOnANewConnection() throws Exception {
    try (RawHttp first = new RawHttp(port); RawHttp second = new RawHttp(port)) {
      first.send("GET /held HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
      Eventually.await(java.time.Duration.ofSeconds(10), "the first stream at the backend", () -> held.get() != null);
      // the second stream goes on the same connection; the backend answers it with GOAWAY naming the first as last
      second.send("GET /above HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
      RawHttp.Response below = first.read();
      RawHttp.Response above = second.read();
      assertEquals(200, below.status(), below.toString());
      assertEquals(200, above.status(), "refused by the GOAWAY, so never processed: tried again " + above);
      assertNotEquals(below.body(), above.body(), "the retry took a new connection");
    }
  }

  @Test
  void aResetStreamIsA502AndARefusedOneIsRetried() {
    assertEquals(502, get("/reset").status());
    stillServes();
    RawHttp.Response retried = get("/refused-once");
    assertEquals(200, retried.status(), "REFUSED_STREAM: never processed, so tried again: " + retried);
  }

  @Test
  void aGrpcClientGetsTheResetInGrpcTerms() throws Exception {
    io.grpc.ManagedChannel channel = io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder
        .forAddress("127.0.0.1", port).usePlaintext().build();
    try {
      // the backend resets every call of this method before answering: the proxy's 502 as gRPC's UNAVAILABLE
      io.grpc.StatusRuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(io.grpc.StatusRuntimeException.class,
          () -> io.grpc.testing.protobuf.SimpleServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
              .unaryRpc(io.grpc.testing.protobuf.SimpleRequest.newBuilder().setRequestMessage("x").build()));
      assertEquals(io.grpc.Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.getStatus().toString());
    } finally {
      channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    }
    stillServes();
  }

  @Test
  void aMalformedFrameIsA502AndTheListenerLivesOn() {
    assertEquals(502, get("/malformed").status());
    stillServes();
  }

  @Test
  void aFlowControlViolationIsA502AndTheListenerLivesOn() {
    assertEquals(502, get("/window-overflow").status());
    stillServes();
  }

  @Test
  void aResponseThatStallsIsCutAfterTheBackendIdleTimeout() {
    long start = System.nanoTime();
    try (RawHttp http = new RawHttp(port)) {
      http.send("GET /stall HTTP/1.1\r\nHost: h\r\n\r\n");
      http.read(); // the head and the body so far, then the end of the connection
    } catch (RuntimeException e) {
      // the connection ended in the middle of the body: all an HTTP/1.1 client can be told once the head went
    }
    long took = System.nanoTime() - start;
    assertTrue(took < TimeUnit.SECONDS.toNanos(8), "cut by the 3 s backend idle timeout, not the client's 10 s: " + took);
    Eventually.await(java.time.Duration.ofSeconds(10), "the stalled stream reset", () -> stallsReset.get() >= 1);
    stillServes();
  }

  @Test
  void aStreamNeverAnsweredIsA504AtTheDeadlineAndIsReset() {
    long start = System.nanoTime();
    RawHttp.Response r = RawHttp.exchange(port,
        "GET /hang HTTP/1.1\r\nHost: h\r\ngrpc-timeout: 200m\r\nConnection: close\r\n\r\n");
    assertEquals(504, r.status(), r.toString());
    long took = System.nanoTime() - start;
    assertTrue(took < TimeUnit.MILLISECONDS.toNanos(2500), "the client's grpc-timeout (200 ms), not the response timeout (3 s): " + took);
    Eventually.await(java.time.Duration.ofSeconds(10), "the backend's stream reset", () -> hangsReset.get() >= 1);
    int before = hangsReset.get();
    assertEquals(504, get("/hang").status(), "the pool's response timeout");
    Eventually.await(java.time.Duration.ofSeconds(10), "reset again", () -> hangsReset.get() > before);
    stillServes();
  }

  // --- the backend

  private void serve() {
    while (!backend.isClosed()) {
      Socket s;
      try {
        s = backend.accept();
      } catch (IOException e) {
        return;
      }
      daemon(() -> connection(s));
    }
  }

  private void connection(Socket s) {
    String name = "conn-" + connections.incrementAndGet();
    ByteArrayOutputStream raw = new ByteArrayOutputStream();
    AtomicBoolean closing = new AtomicBoolean();
    java.util.Set<Integer> hanging = java.util.concurrent.ConcurrentHashMap.newKeySet();
    java.util.Set<Integer> stalling = java.util.concurrent.ConcurrentHashMap.newKeySet();
    H2ServerConnection[] frames = new H2ServerConnection[1];
    frames[0] = new H2ServerConnection(H2Settings.DEFAULTS, new H2ServerConnection.Handler() {
      @Override
      public void request(H2Request request) {
        int id = request.streamId();
        H2ServerConnection h2 = frames[0];
        switch (request.path()) {
          case "/goaway" -> {
            h2.goAway();
            text(h2, id, name + " going away");
            closing.set(true);
          }
          case "/reset", "/grpc.testing.SimpleService/UnaryRpc" -> h2.reset(id, ErrorCode.INTERNAL_ERROR);
          case "/refused-once" -> {
            if (refusedOnce.compareAndSet(false, true)) h2.reset(id, ErrorCode.REFUSED_STREAM_ERROR);
            else text(h2, id, name);
          }
          // SETTINGS whose length is no multiple of 6: a connection error (FRAME_SIZE_ERROR)
          case "/malformed" -> raw.writeBytes(new RawFrames().frame(RawFrames.SETTINGS, 0, 0, new byte[5]).bytes());
          // the connection's send window past 2^31-1: a connection error (FLOW_CONTROL_ERROR)
          case "/window-overflow" -> raw.writeBytes(new RawFrames().windowUpdate(0, Integer.MAX_VALUE)
              .windowUpdate(0, Integer.MAX_VALUE).bytes());
          case "/stall" -> {
            stalling.add(id);
            HeaderFields headers = new HeaderFields();
            headers.add("content-type", "text/plain");
            h2.respond(id, 200, headers, false);
            h2.data(id, ByteBuffer.wrap("a body that never ends".getBytes(StandardCharsets.UTF_8)), false);
          }
          case "/hang" -> hanging.add(id);
          case "/held" -> held.set(new Object[] {h2, id});
          case "/above" -> {
            Object[] below = held.get();
            if (below == null || below[0] != h2) {
              text(h2, id, name); // a retry, on another connection
              return;
            }
            int last = (Integer) below[1];
            byte[] payload = ByteBuffer.allocate(8).putInt(last).putInt(0).array();
            raw.writeBytes(new RawFrames().frame(RawFrames.GOAWAY, 0, 0, payload).bytes()); // last, NO_ERROR
            text(h2, last, name);
          }
          default -> text(h2, id, name);
        }
      }

      @Override
      public void bodyArrived(int streamId) {}

      @Override
      public void trailers(int streamId, HeaderFields trailers) {}

      @Override
      public void reset(int streamId, int errorCode) {
        if (hanging.remove(streamId)) hangsReset.incrementAndGet();
        if (stalling.remove(streamId)) stallsReset.incrementAndGet();
      }

      @Override
      public void writable(int streamId) {}
    }, H2ServerConnection.Observer.NONE, System::nanoTime);
    try (s) {
      OutputStream out = s.getOutputStream();
      InputStream in = s.getInputStream();
      byte[] buf = new byte[16_384];
      while (true) {
        int n = in.read(buf);
        if (n < 0) return;
        frames[0].feed(ByteBuffer.wrap(buf, 0, n));
        ByteBuffer output = frames[0].output();
        byte[] bytes = new byte[output.remaining()];
        output.get(bytes);
        out.write(bytes);
        out.write(raw.toByteArray());
        raw.reset();
        out.flush();
        if (closing.get()) {
          // a graceful close: the peer saw the GOAWAY and the last stream's end; give it a moment to read them
          s.shutdownOutput();
          while (in.read(buf) >= 0) {}
          return;
        }
      }
    } catch (IOException e) {
      // a health check's connection, a connection Fulcrum ended, or the end of the test
    }
  }

  private static void text(H2ServerConnection h2, int id, String body) {
    HeaderFields headers = new HeaderFields();
    headers.add("content-type", "text/plain");
    h2.respond(id, 200, headers, false);
    h2.data(id, ByteBuffer.wrap(body.getBytes(StandardCharsets.UTF_8)), true);
  }

  private static void daemon(Runnable r) {
    Thread t = new Thread(r, "hostile-h2-backend");
    t.setDaemon(true);
    t.start();
  }
}
