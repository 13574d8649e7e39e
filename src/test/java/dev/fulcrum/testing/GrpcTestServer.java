package dev.fulcrum.testing;

import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.grpc.testing.protobuf.SimpleRequest;
import io.grpc.testing.protobuf.SimpleResponse;
import io.grpc.testing.protobuf.SimpleServiceGrpc;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A real grpc-java server (Netty, HTTP/2) on 127.0.0.1 and a random port, for tests of gRPC through Fulcrum: the
 * {@code grpc.testing.SimpleService} of grpc-testing-proto (all four call shapes) and the standard health service
 * ({@link HealthStatusManager}), plain (h2c) or over TLS (h2 by ALPN). It counts the calls it took and those that
 * were cancelled (a client's RST_STREAM or deadline passed on by the proxy), and keeps the metadata of the last call.
 *
 * <p>What a request's {@code requestMessage} makes the service do:
 * <ul>
 *   <li>{@code hang}: never answer (until the call is cancelled);</li>
 *   <li>{@code fail:CODE} (e.g. {@code fail:NOT_FOUND}): end the call with that status;</li>
 *   <li>{@code count:N} (server streaming): N responses "0".."N-1";</li>
 *   <li>anything else: echoed as {@code echo:MESSAGE} (client streaming: the messages joined by ',').</li>
 * </ul>
 * The grpc-interop-testing TestService is not used: it is not served by the registry here, and these four calls
 * cover unary, client-, server- and bidi-streaming.
 */
public final class GrpcTestServer implements AutoCloseable {
  /** Metadata a client may send to be echoed back in the response headers and trailers. */
  public static final Metadata.Key<String> ECHO = Metadata.Key.of("x-echo", Metadata.ASCII_STRING_MARSHALLER);

  private final Server server;
  private final HealthStatusManager health = new HealthStatusManager();
  private final AtomicInteger calls = new AtomicInteger();
  private final AtomicInteger cancellations = new AtomicInteger();
  private final AtomicReference<Metadata> lastHeaders = new AtomicReference<>();

  private GrpcTestServer(Path certFile, Path keyFile) throws IOException {
    NettyServerBuilder builder = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(ServerInterceptors.intercept(new Simple(), new Counting()))
        .addService(health.getHealthService());
    if (certFile != null) builder.sslContext(GrpcSslContexts.forServer(certFile.toFile(), keyFile.toFile()).build());
    server = builder.build().start();
  }

  /** A plaintext (h2c prior knowledge) server. */
  public static GrpcTestServer plain() throws IOException {
    return new GrpcTestServer(null, null);
  }

  /** A TLS server (h2 by ALPN) with this certificate chain and PKCS#8 key. */
  public static GrpcTestServer tls(Path certFile, Path keyFile) throws IOException {
    return new GrpcTestServer(certFile, keyFile);
  }

  public int port() {
    return server.getPort();
  }

  /** "127.0.0.1:PORT", as a pool's backend. */
  public String address() {
    return "127.0.0.1:" + port();
  }

  /** Sets what the health service answers for {@code service} ("" is the server as a whole, SERVING at start). */
  public void health(String service, ServingStatus status) {
    health.setStatus(service, status);
  }

  /** Calls of SimpleService that reached the server. */
  public int calls() {
    return calls.get();
  }

  /** Calls of SimpleService that were cancelled before they completed. */
  public int cancellations() {
    return cancellations.get();
  }

  /** The metadata of the last SimpleService call, or null. */
  public Metadata lastHeaders() {
    return lastHeaders.get();
  }

  @Override
  public void close() {
    health.enterTerminalState();
    server.shutdownNow();
    try {
      server.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Counts calls and cancellations; echoes {@link #ECHO} in the response headers and trailers. */
  private final class Counting implements ServerInterceptor {
    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
      calls.incrementAndGet();
      lastHeaders.set(headers);
      String echo = headers.get(ECHO);
      ServerCall<Q, R> echoing = new io.grpc.ForwardingServerCall.SimpleForwardingServerCall<>(call) {
        @Override
        public void sendHeaders(Metadata responseHeaders) {
          if (echo != null) responseHeaders.put(ECHO, echo);
          super.sendHeaders(responseHeaders);
        }

        @Override
        public void close(Status status, Metadata trailers) {
          if (echo != null) trailers.put(ECHO, echo);
          super.close(status, trailers);
        }
      };
      return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(next.startCall(echoing, headers)) {
        @Override
        public void onCancel() {
          cancellations.incrementAndGet();
          super.onCancel();
        }
      };
    }
  }

  private static SimpleResponse response(String text) {
    return SimpleResponse.newBuilder().setResponseMessage(text).build();
  }

  /** Whether the request asked for an error or a hang, which is then done; false: answer normally. */
  private static boolean special(String message, StreamObserver<SimpleResponse> out) {
    if (message.equals("hang")) return true;
    if (message.startsWith("fail:")) {
      out.onError(Status.fromCode(Status.Code.valueOf(message.substring(5))).withDescription("asked to fail").asRuntimeException());
      return true;
    }
    return false;
  }

  private static final class Simple extends SimpleServiceGrpc.SimpleServiceImplBase {
    @Override
    public void unaryRpc(SimpleRequest request, StreamObserver<SimpleResponse> out) {
      if (special(request.getRequestMessage(), out)) return;
      out.onNext(response("echo:" + request.getRequestMessage()));
      out.onCompleted();
    }

    @Override
    public void serverStreamingRpc(SimpleRequest request, StreamObserver<SimpleResponse> out) {
      String message = request.getRequestMessage();
      if (message.startsWith("count:")) {
        int n = Integer.parseInt(message.substring(6));
        ServerCallStreamObserver<SimpleResponse> flow = (ServerCallStreamObserver<SimpleResponse>) out;
        for (int i = 0; i < n && !flow.isCancelled(); i++) out.onNext(response(Integer.toString(i)));
        if (!flow.isCancelled()) out.onCompleted();
        return;
      }
      if (message.equals("hang")) {
        out.onNext(response("first"));
        return;
      }
      if (special(message, out)) return;
      out.onNext(response("echo:" + message));
      out.onCompleted();
    }

    @Override
    public StreamObserver<SimpleRequest> clientStreamingRpc(StreamObserver<SimpleResponse> out) {
      List<String> seen = new ArrayList<>();
      return new StreamObserver<>() {
        @Override
        public void onNext(SimpleRequest request) {
          seen.add(request.getRequestMessage());
        }

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {
          out.onNext(response(String.join(",", seen)));
          out.onCompleted();
        }
      };
    }

    @Override
    public StreamObserver<SimpleRequest> bidiStreamingRpc(StreamObserver<SimpleResponse> out) {
      return new StreamObserver<>() {
        @Override
        public void onNext(SimpleRequest request) {
          if (!special(request.getRequestMessage(), out)) out.onNext(response("echo:" + request.getRequestMessage()));
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
}
