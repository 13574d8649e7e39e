package dev.fulcrum.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.testing.PoolHealth;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.grpc.testing.protobuf.SimpleRequest;
import io.grpc.testing.protobuf.SimpleResponse;
import io.grpc.testing.protobuf.SimpleServiceGrpc;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Crossing protocols between client and backend: an HTTP/1.1 client to an HTTP/2 (h2c) backend, an HTTP/2 client to
 * an HTTP/1.1 backend whose chunked answer ends in trailers, and an HTTP/2 backend allowing one stream at a time
 * (its SETTINGS_MAX_CONCURRENT_STREAMS) with one connection: further requests queue and get 503 after the queue
 * timeout.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class Http2BackendTest {
  static final Metadata.Key<String> TRAILER = Metadata.Key.of("x-trailer", Metadata.ASCII_STRING_MARSHALLER);

  private final ScheduledExecutorService timers = Executors.newScheduledThreadPool(2);
  private ActorSystem<Void> system;
  private Server grpc;
  private Server narrow;
  private ServerSocket chunkedBackend;
  /** An HTTP/2 backend (Fulcrum's own frame layer on a blocking socket) that answers a head, then resets the stream. */
  private ServerSocket resettingBackend;
  private Fulcrum fulcrum;
  private ManagedChannel channel;
  private int port;

  final class Service extends SimpleServiceGrpc.SimpleServiceImplBase {
    @Override
    public void unaryRpc(SimpleRequest request, StreamObserver<SimpleResponse> out) {
      String m = request.getRequestMessage();
      if (m.equals("sleep")) {
        ServerCallStreamObserver<SimpleResponse> call = (ServerCallStreamObserver<SimpleResponse>) out;
        call.setOnCancelHandler(() -> {});
        timers.schedule(() -> {
          if (!call.isCancelled()) {
            out.onNext(SimpleResponse.newBuilder().setResponseMessage("late").build());
            out.onCompleted();
          }
        }, 10, TimeUnit.SECONDS);
        return;
      }
      out.onNext(SimpleResponse.newBuilder().setResponseMessage("unary:" + m).build());
      out.onCompleted();
    }
  }

  @BeforeAll
  void start() throws Exception {
    grpc = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).addService(new Service()).build().start();
    narrow = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).addService(new Service())
        .maxConcurrentCallsPerConnection(1).build().start();
    chunkedBackend = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
    daemon(this::serveChunked);
    resettingBackend = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
    daemon(this::serveResetting);
    system = ActorSystem.create(Behaviors.empty(), "h2-backends");
    fulcrum = Fulcrum.start(ProxyTests.config("nio", """
        fulcrum.pools.grpc { backends = ["127.0.0.1:%d"], protocol = h2c, health-check.type = tcp }
        fulcrum.pools.narrow { backends = ["127.0.0.1:%d"], protocol = h2c, health-check.type = tcp }
        fulcrum.pools.chunked { backends = ["127.0.0.1:%d"], health-check.type = tcp }
        fulcrum.pools.resetting { backends = ["127.0.0.1:%d"], protocol = h2c, health-check.type = tcp }
        fulcrum.http.pools.narrow { max-connections-per-backend = 1, queue-size = 10, queue-timeout = 500ms }
        fulcrum.listeners.http.l {
          bind = "127.0.0.1:0"
          routes = [{pool = grpc, path = "/"}, {pool = narrow, path = "/narrow"},
            {pool = chunked, path = "/grpc.testing.SimpleService/ClientStreamingRpc"},
            {pool = resetting, path = "/grpc.testing.SimpleService/ServerStreamingRpc"}]
          http2.cleartext = on
        }
        """.formatted(port(grpc), port(narrow), chunkedBackend.getLocalPort(), resettingBackend.getLocalPort())));
    for (String pool : new String[] {"grpc", "narrow", "chunked", "resetting"}) PoolHealth.awaitAllUp(fulcrum, pool, 1);
    port = fulcrum.httpListener("l").localAddress().getPort();
    channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
  }

  private static int port(Server server) {
    return ((InetSocketAddress) server.getListenSockets().get(0)).getPort();
  }

  @AfterAll
  void stop() throws Exception {
    try {
      if (channel != null) channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
      for (Server s : new Server[] {grpc, narrow}) if (s != null) s.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
      if (chunkedBackend != null) chunkedBackend.close();
      if (resettingBackend != null) resettingBackend.close();
      timers.shutdownNow();
    } finally {
      ProxyTests.stop(fulcrum, system);
    }
  }

  /** gRPC's message framing: a flag byte, a 4-byte length, the message. */
  private static byte[] grpcFrame(byte[] message) {
    return ByteBuffer.allocate(5 + message.length).put((byte) 0).putInt(message.length).put(message).array();
  }

  @Test
  void anHttp11ClientReachesAnH2cBackendAndGetsItsTrailersInTheLastChunk() throws Exception {
    byte[] body = grpcFrame(SimpleRequest.newBuilder().setRequestMessage("over-h1").build().toByteArray());
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(20_000);
      OutputStream out = s.getOutputStream();
      out.write(("POST /grpc.testing.SimpleService/UnaryRpc HTTP/1.1\r\nHost: svc.example\r\n"
          + "Content-Type: application/grpc\r\nTE: trailers\r\nConnection: TE\r\nContent-Length: " + body.length
          + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
      out.write(body);
      out.flush();
      String response = readUntil(s.getInputStream(), "\r\n0\r\n", "\r\n\r\n");
      assertTrue(response.startsWith("HTTP/1.1 200"), response);
      assertTrue(response.toLowerCase().contains("transfer-encoding: chunked"), response);
      assertTrue(response.contains("unary:over-h1"), response);
      String lastChunk = response.substring(response.lastIndexOf("\r\n0\r\n"));
      assertTrue(lastChunk.contains("grpc-status: 0"), response);
    }
  }

  @Test
  void anH2ClientGetsTheTrailersOfAChunkedHttp11Answer() throws Exception {
    // the chunked backend answers every call with one message and trailers: grpc-java fails a call without grpc-status
    AtomicReference<Metadata> headers = new AtomicReference<>();
    AtomicReference<Metadata> trailers = new AtomicReference<>();
    CompletableFuture<String> result = new CompletableFuture<>();
    StreamObserver<SimpleRequest> up = SimpleServiceGrpc.newStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS)
        .withInterceptors(MetadataUtils.newCaptureMetadataInterceptor(headers, trailers))
        .clientStreamingRpc(new StreamObserver<>() {
          String last;

          @Override
          public void onNext(SimpleResponse value) {
            last = value.getResponseMessage();
          }

          @Override
          public void onError(Throwable t) {
            result.completeExceptionally(t);
          }

          @Override
          public void onCompleted() {
            result.complete(last);
          }
        });
    up.onNext(SimpleRequest.newBuilder().setRequestMessage("a").build());
    up.onCompleted();
    assertEquals("from-http1", result.get(20, TimeUnit.SECONDS));
    assertEquals("chunked", trailers.get().get(TRAILER));
  }

  @Test
  void streamsBeyondTheBackendsLimitQueueAndGet503AfterTheQueueTimeout() throws Exception {
    // one long call holds the backend's only stream (its SETTINGS allow one) on the pool's only connection
    try (Socket held = new Socket("127.0.0.1", port)) {
      held.setSoTimeout(20_000);
      byte[] body = grpcFrame(SimpleRequest.newBuilder().setRequestMessage("sleep").build().toByteArray());
      OutputStream out = held.getOutputStream();
      out.write(("POST /narrow/grpc.testing.SimpleService/UnaryRpc HTTP/1.1\r\nHost: a\r\nContent-Type: application/grpc\r\n"
          + "Content-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
      out.write(body);
      out.flush();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      int status = 0;
      while (System.nanoTime() < deadline && status != 503) {
        // the long call may take a moment to reach the backend: until it does, a second one still gets through
        long asked = System.nanoTime();
        RawHttp.Response answer = RawHttp.exchange(port, "GET /narrow/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        status = answer.status();
        if (status == 503) {
          assertTrue(System.nanoTime() - asked >= TimeUnit.MILLISECONDS.toNanos(450), "answered before the queue timeout: " + answer);
        }
      }
      assertEquals(503, status);
    }
    // the long call's client went away: its stream was cancelled, and the next request gets the backend's stream
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    int status = 503;
    while (System.nanoTime() < deadline && status == 503) {
      status = RawHttp.exchange(port, "GET /narrow/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").status();
    }
    // grpc-java answers a GET itself (405, or 415 for the content type): it reached the backend
    assertTrue(status != 503 && status >= 200, "status " + status);
  }

  @Test
  void aBackendsResetReachesTheClientWithItsErrorCode() {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> SimpleServiceGrpc
        .newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS)
        .serverStreamingRpc(SimpleRequest.newBuilder().setRequestMessage("1").build()).forEachRemaining(m -> {}));
    // RST_STREAM(CANCEL) passed on as it came: grpc-java reads it as CANCELLED (INTERNAL_ERROR would be INTERNAL)
    assertEquals(Status.Code.CANCELLED, e.getStatus().getCode(), e.getStatus().toString());
  }

  @Test
  void grpcErrorsOfTheProxyAreInGrpcTerms() {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> SimpleServiceGrpc
        .newBlockingStub(channel).withDeadlineAfter(300, TimeUnit.MILLISECONDS)
        .unaryRpc(SimpleRequest.newBuilder().setRequestMessage("sleep").build()));
    assertEquals(Status.Code.DEADLINE_EXCEEDED, e.getStatus().getCode());
  }

  private static String readUntil(InputStream in, String marker, String end) throws IOException {
    ByteArrayOutputStream got = new ByteArrayOutputStream();
    byte[] buf = new byte[8192];
    while (true) {
      String text = got.toString(StandardCharsets.ISO_8859_1);
      int at = text.lastIndexOf(marker);
      if (at >= 0 && text.indexOf(end, at + marker.length() - 2) >= 0) return text;
      int n = in.read(buf);
      if (n < 0) return text;
      got.write(buf, 0, n);
    }
  }

  /** A request head and its chunked body, up to the last chunk (without trailers: gRPC clients send none). */
  private static String readChunkedRequest(InputStream in) throws IOException {
    ByteArrayOutputStream got = new ByteArrayOutputStream();
    byte[] buf = new byte[8192];
    while (true) {
      String text = got.toString(StandardCharsets.ISO_8859_1);
      int head = text.indexOf("\r\n\r\n");
      if (head >= 0 && (text.startsWith("0\r\n\r\n", head + 4) || text.indexOf("\r\n0\r\n\r\n", head) >= 0)) {
        return text;
      }
      int n = in.read(buf);
      if (n < 0) return text;
      got.write(buf, 0, n);
    }
  }

  private void serveResetting() {
    while (!resettingBackend.isClosed()) {
      Socket s;
      try {
        s = resettingBackend.accept();
      } catch (IOException e) {
        return;
      }
      daemon(() -> {
        try (s) {
          OutputStream out = s.getOutputStream();
          AtomicReference<dev.fulcrum.http.h2.H2ServerConnection> frames = new AtomicReference<>();
          frames.set(new dev.fulcrum.http.h2.H2ServerConnection(dev.fulcrum.http.h2.H2Settings.DEFAULTS,
              new dev.fulcrum.http.h2.H2ServerConnection.Handler() {
                @Override
                public void request(dev.fulcrum.http.h2.H2Request request) {
                  dev.fulcrum.http.wire.HeaderFields headers = new dev.fulcrum.http.wire.HeaderFields();
                  headers.add("content-type", "application/grpc");
                  frames.get().respond(request.streamId(), 200, headers, false);
                  frames.get().reset(request.streamId(), org.eclipse.jetty.http2.ErrorCode.CANCEL_STREAM_ERROR);
                }

                @Override
                public void bodyArrived(int streamId) {}

                @Override
                public void trailers(int streamId, dev.fulcrum.http.wire.HeaderFields trailers) {}

                @Override
                public void reset(int streamId, int errorCode) {}

                @Override
                public void writable(int streamId) {}
              }, dev.fulcrum.http.h2.H2ServerConnection.Observer.NONE, System::nanoTime));
          byte[] buf = new byte[16_384];
          InputStream in = s.getInputStream();
          while (true) {
            int n = in.read(buf);
            if (n < 0) return;
            frames.get().feed(ByteBuffer.wrap(buf, 0, n));
            ByteBuffer output = frames.get().output();
            if (output.hasRemaining()) {
              byte[] bytes = new byte[output.remaining()];
              output.get(bytes);
              out.write(bytes);
              out.flush();
            }
          }
        } catch (IOException e) {
          // a health check's connection, or the end of the test
        }
      });
    }
  }

  private static void daemon(Runnable r) {
    Thread t = new Thread(r, "chunked-backend");
    t.setDaemon(true);
    t.start();
  }

  /** An HTTP/1.1 backend that answers every request (after reading its chunked body) in gRPC's terms with trailers. */
  private void serveChunked() {
    while (!chunkedBackend.isClosed()) {
      Socket s;
      try {
        s = chunkedBackend.accept();
      } catch (IOException e) {
        return;
      }
      daemon(() -> {
        try (s) {
          s.setSoTimeout(20_000);
          String request = readChunkedRequest(s.getInputStream());
          if (request.isEmpty()) return;
          byte[] message = grpcFrame(SimpleResponse.newBuilder().setResponseMessage("from-http1").build().toByteArray());
          OutputStream out = s.getOutputStream();
          out.write(("HTTP/1.1 200 OK\r\ncontent-type: application/grpc\r\ntransfer-encoding: chunked\r\n\r\n"
              + Integer.toHexString(message.length) + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
          out.write(message);
          out.write("\r\n0\r\ngrpc-status: 0\r\nx-trailer: chunked\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
          out.flush();
          s.getInputStream().read(); // until Fulcrum closes or reuses it
        } catch (IOException e) {
          // a health check's connection, or the end of the test
        }
      });
    }
  }
}
