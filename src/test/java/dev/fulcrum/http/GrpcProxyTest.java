package dev.fulcrum.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.testing.PoolHealth;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ForwardingServerCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
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
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
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
 * A grpc-java client, speaking h2c with prior knowledge to a listener with {@code http2.cleartext = on}, calls a
 * grpc-java server behind Fulcrum in a pool with {@code protocol = h2c}: all four kinds of call, metadata and
 * trailers both ways, a deadline, and a cancellation that must reach the server.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GrpcProxyTest {
  static final Metadata.Key<String> ASK = Metadata.Key.of("x-ask", Metadata.ASCII_STRING_MARSHALLER);
  static final Metadata.Key<String> ECHO = Metadata.Key.of("x-echo", Metadata.ASCII_STRING_MARSHALLER);
  static final Metadata.Key<String> TRAILER = Metadata.Key.of("x-trailer", Metadata.ASCII_STRING_MARSHALLER);

  private final ScheduledExecutorService timers = Executors.newScheduledThreadPool(2);
  private final LinkedBlockingQueue<String> cancelled = new LinkedBlockingQueue<>();
  private ActorSystem<Void> system;
  private Server server;
  /** The same service over TLS, for the pool with protocol = h2 (chosen by ALPN). */
  private Server tlsServer;
  private java.nio.file.Path dir;
  private Fulcrum fulcrum;
  private ManagedChannel channel;
  private ManagedChannel tlsChannel;

  /** Echoes x-ask as the header x-echo and sends x-trailer in the trailers of every call. */
  static final class Metadatas implements ServerInterceptor {
    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
        ServerCallHandler<Q, R> next) {
      String asked = headers.get(ASK);
      return next.startCall(new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
        @Override
        public void sendHeaders(Metadata responseHeaders) {
          if (asked != null) responseHeaders.put(ECHO, asked);
          super.sendHeaders(responseHeaders);
        }

        @Override
        public void close(Status status, Metadata trailers) {
          trailers.put(TRAILER, "bye");
          super.close(status, trailers);
        }
      }, headers);
    }
  }

  final class Service extends SimpleServiceGrpc.SimpleServiceImplBase {
    @Override
    public void unaryRpc(SimpleRequest request, StreamObserver<SimpleResponse> out) {
      String m = request.getRequestMessage();
      if (m.startsWith("fail")) {
        out.onError(Status.PERMISSION_DENIED.withDescription("no entry").asRuntimeException());
      } else if (m.startsWith("sleep")) {
        ServerCallStreamObserver<SimpleResponse> call = (ServerCallStreamObserver<SimpleResponse>) out;
        call.setOnCancelHandler(() -> cancelled.add(m));
        timers.schedule(() -> {
          if (!call.isCancelled()) {
            out.onNext(reply("late"));
            out.onCompleted();
          }
        }, 5, TimeUnit.SECONDS);
      } else {
        out.onNext(reply("unary:" + m));
        out.onCompleted();
      }
    }

    @Override
    public void serverStreamingRpc(SimpleRequest request, StreamObserver<SimpleResponse> out) {
      String m = request.getRequestMessage();
      if (m.equals("forever")) {
        // one message every 50 ms until the client cancels
        ServerCallStreamObserver<SimpleResponse> call = (ServerCallStreamObserver<SimpleResponse>) out;
        call.setOnCancelHandler(() -> cancelled.add(m));
        AtomicReference<java.util.concurrent.ScheduledFuture<?>> task = new AtomicReference<>();
        task.set(timers.scheduleAtFixedRate(() -> {
          if (call.isCancelled()) {
            task.get().cancel(false);
            return;
          }
          synchronized (call) {
            out.onNext(reply("tick"));
          }
        }, 0, 50, TimeUnit.MILLISECONDS));
        return;
      }
      int n = Integer.parseInt(m);
      for (int i = 0; i < n; i++) out.onNext(reply("part-" + i + "-" + "x".repeat(i * 1000)));
      out.onCompleted();
    }

    @Override
    public StreamObserver<SimpleRequest> clientStreamingRpc(StreamObserver<SimpleResponse> out) {
      StringBuilder all = new StringBuilder();
      return new StreamObserver<>() {
        @Override
        public void onNext(SimpleRequest value) {
          all.append(value.getRequestMessage()).append(',');
        }

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {
          out.onNext(reply(all.toString()));
          out.onCompleted();
        }
      };
    }

    @Override
    public StreamObserver<SimpleRequest> bidiStreamingRpc(StreamObserver<SimpleResponse> out) {
      return new StreamObserver<>() {
        @Override
        public void onNext(SimpleRequest value) {
          out.onNext(reply("echo:" + value.getRequestMessage()));
        }

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {
          out.onCompleted();
        }
      };
    }
  }

  static SimpleResponse reply(String m) {
    return SimpleResponse.newBuilder().setResponseMessage(m).build();
  }

  static SimpleRequest ask(String m) {
    return SimpleRequest.newBuilder().setRequestMessage(m).build();
  }

  @BeforeAll
  void start() throws Exception {
    server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(ServerInterceptors.intercept(new Service(), new Metadatas()))
        .build().start();
    int backendPort = ((InetSocketAddress) server.getListenSockets().get(0)).getPort();
    dir = java.nio.file.Files.createTempDirectory("fulcrum-grpc");
    dev.fulcrum.testing.TestCertificates.selfSigned(dir, "b", false, "backend.example");
    tlsServer = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .useTransportSecurity(dir.resolve("b.pem").toFile(), dir.resolve("b.key").toFile())
        .addService(ServerInterceptors.intercept(new Service(), new Metadatas()))
        .build().start();
    int tlsPort = ((InetSocketAddress) tlsServer.getListenSockets().get(0)).getPort();
    system = ActorSystem.create(Behaviors.empty(), "grpc-test");
    fulcrum = Fulcrum.start(ProxyTests.config("nio", """
        fulcrum.pools.grpc { backends = ["127.0.0.1:%d"], protocol = h2c, health-check.type = tcp }
        fulcrum.pools.grpcs {
          backends = ["127.0.0.1:%d"], protocol = h2, health-check.type = tcp
          tls { ca-file = "%s", server-name = backend.example }
        }
        fulcrum.listeners.http.g {
          bind = "127.0.0.1:0"
          routes = [{pool = grpc}]
          http2.cleartext = on
        }
        fulcrum.listeners.http.gs {
          bind = "127.0.0.1:0"
          routes = [{pool = grpcs}]
          http2.cleartext = on
        }
        """.formatted(backendPort, tlsPort, dir.resolve("b.pem"))));
    PoolHealth.awaitAllUp(fulcrum, "grpc", 1);
    PoolHealth.awaitAllUp(fulcrum, "grpcs", 1);
    int port = fulcrum.httpListener("g").localAddress().getPort();
    channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    tlsChannel = NettyChannelBuilder.forAddress("127.0.0.1", fulcrum.httpListener("gs").localAddress().getPort())
        .usePlaintext().build();
  }

  @AfterAll
  void stop() throws Exception {
    try {
      if (channel != null) channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
      if (tlsChannel != null) tlsChannel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
      if (server != null) server.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
      if (tlsServer != null) tlsServer.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
      timers.shutdownNow();
    } finally {
      ProxyTests.stop(fulcrum, system);
    }
  }

  private SimpleServiceGrpc.SimpleServiceBlockingStub blocking() {
    return SimpleServiceGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS);
  }

  @Test
  void unaryCallWithMetadataAndTrailersBothWays() {
    Metadata sent = new Metadata();
    sent.put(ASK, "hello-meta");
    AtomicReference<Metadata> headers = new AtomicReference<>();
    AtomicReference<Metadata> trailers = new AtomicReference<>();
    SimpleResponse r = blocking()
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(sent),
            MetadataUtils.newCaptureMetadataInterceptor(headers, trailers))
        .unaryRpc(ask("one"));
    assertEquals("unary:one", r.getResponseMessage());
    assertEquals("hello-meta", headers.get().get(ECHO));
    assertEquals("bye", trailers.get().get(TRAILER));
  }

  @Test
  void aPoolWithProtocolH2SpeaksHttp2OverTlsChosenByAlpn() throws Exception {
    Metadata sent = new Metadata();
    sent.put(ASK, "over-tls");
    AtomicReference<Metadata> headers = new AtomicReference<>();
    AtomicReference<Metadata> trailers = new AtomicReference<>();
    SimpleResponse r = SimpleServiceGrpc.newBlockingStub(tlsChannel).withDeadlineAfter(20, TimeUnit.SECONDS)
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(sent),
            MetadataUtils.newCaptureMetadataInterceptor(headers, trailers))
        .unaryRpc(ask("tls"));
    assertEquals("unary:tls", r.getResponseMessage());
    assertEquals("over-tls", headers.get().get(ECHO));
    assertEquals("bye", trailers.get().get(TRAILER));
    Iterator<SimpleResponse> it = SimpleServiceGrpc.newBlockingStub(tlsChannel).withDeadlineAfter(20, TimeUnit.SECONDS)
        .serverStreamingRpc(ask("50"));
    int i = 0;
    while (it.hasNext()) {
      assertEquals("part-" + i + "-" + "x".repeat(i * 1000), it.next().getResponseMessage());
      i++;
    }
    assertEquals(50, i);
  }

  @Test
  void aServerErrorStatusAndMessageArriveInTheTrailers() {
    AtomicReference<Metadata> headers = new AtomicReference<>();
    AtomicReference<Metadata> trailers = new AtomicReference<>();
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> blocking()
        .withInterceptors(MetadataUtils.newCaptureMetadataInterceptor(headers, trailers)).unaryRpc(ask("fail")));
    assertEquals(Status.Code.PERMISSION_DENIED, e.getStatus().getCode());
    assertEquals("no entry", e.getStatus().getDescription());
    assertEquals("bye", e.getTrailers().get(TRAILER));
  }

  @Test
  void serverStreamingDeliversEveryMessageInOrder() {
    Iterator<SimpleResponse> it = blocking().serverStreamingRpc(ask("200"));
    int i = 0;
    while (it.hasNext()) {
      assertEquals("part-" + i + "-" + "x".repeat(i * 1000), it.next().getResponseMessage());
      i++;
    }
    assertEquals(200, i); // ~20 MB through the windows of both connections
  }

  @Test
  void clientStreamingGathersEveryMessage() throws Exception {
    CompletableFuture<String> result = new CompletableFuture<>();
    StreamObserver<SimpleRequest> up = SimpleServiceGrpc.newStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS)
        .clientStreamingRpc(observer(result, new ArrayList<>()));
    StringBuilder expected = new StringBuilder();
    for (int i = 0; i < 100; i++) {
      String m = i + "-" + "y".repeat(2000);
      up.onNext(ask(m));
      expected.append(m).append(',');
    }
    up.onCompleted();
    assertEquals(expected.toString(), result.get(20, TimeUnit.SECONDS));
  }

  @Test
  void bidiStreamingAnswersEachMessageWhileTheRequestStillFlows() throws Exception {
    LinkedBlockingQueue<String> answers = new LinkedBlockingQueue<>();
    CompletableFuture<String> done = new CompletableFuture<>();
    StreamObserver<SimpleRequest> up = SimpleServiceGrpc.newStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS)
        .bidiStreamingRpc(new StreamObserver<>() {
          @Override
          public void onNext(SimpleResponse value) {
            answers.add(value.getResponseMessage());
          }

          @Override
          public void onError(Throwable t) {
            done.completeExceptionally(t);
          }

          @Override
          public void onCompleted() {
            done.complete("ok");
          }
        });
    for (int i = 0; i < 5; i++) {
      up.onNext(ask("m" + i));
      // each answer comes back before the next message is sent: the streams are not buffered whole
      assertEquals("echo:m" + i, answers.poll(10, TimeUnit.SECONDS));
    }
    up.onCompleted();
    assertEquals("ok", done.get(10, TimeUnit.SECONDS));
  }

  @Test
  void aDeadlineShorterThanTheServersDelayIsDeadlineExceededAndTheServerSeesItsCallCancelled() throws Exception {
    long started = System.nanoTime();
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> SimpleServiceGrpc
        .newBlockingStub(channel).withDeadlineAfter(300, TimeUnit.MILLISECONDS).unaryRpc(ask("sleep-deadline")));
    assertEquals(Status.Code.DEADLINE_EXCEEDED, e.getStatus().getCode());
    assertTrue(System.nanoTime() - started < TimeUnit.SECONDS.toNanos(4), "the deadline did not cut the wait short");
    assertEquals("sleep-deadline", awaitCancelled("sleep-deadline"));
  }

  @Test
  void aClientCancellationReachesTheServer() throws Exception {
    ClientCall<SimpleRequest, SimpleResponse> call = channel.newCall(
        SimpleServiceGrpc.getServerStreamingRpcMethod(), CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS));
    LinkedBlockingQueue<String> got = new LinkedBlockingQueue<>();
    call.start(new ClientCall.Listener<>() {
      @Override
      public void onMessage(SimpleResponse message) {
        got.add(message.getResponseMessage());
        call.request(1);
      }
    }, new Metadata());
    call.request(1);
    call.sendMessage(ask("forever"));
    call.halfClose();
    assertEquals("tick", got.poll(10, TimeUnit.SECONDS));
    assertEquals("tick", got.poll(10, TimeUnit.SECONDS));
    call.cancel("the client lost interest", null);
    assertEquals("forever", awaitCancelled("forever"));
  }

  @Test
  void manyConcurrentCallsShareTheBackendConnection() throws Exception {
    List<CompletableFuture<String>> calls = new ArrayList<>();
    SimpleServiceGrpc.SimpleServiceStub stub = SimpleServiceGrpc.newStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS);
    for (int i = 0; i < 300; i++) {
      CompletableFuture<String> f = new CompletableFuture<>();
      stub.unaryRpc(ask("c" + i), observer(f, null));
      calls.add(f);
    }
    for (int i = 0; i < calls.size(); i++) assertEquals("unary:c" + i, calls.get(i).get(20, TimeUnit.SECONDS));
  }

  private String awaitCancelled(String which) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline) {
      String next = cancelled.poll(100, TimeUnit.MILLISECONDS);
      if (which.equals(next)) return next;
    }
    return null;
  }

  private static StreamObserver<SimpleResponse> observer(CompletableFuture<String> result, List<String> all) {
    return new StreamObserver<>() {
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
        assertNotNull(last);
        result.complete(last);
      }
    };
  }
}
