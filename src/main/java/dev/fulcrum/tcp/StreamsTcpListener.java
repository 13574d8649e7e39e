package dev.fulcrum.tcp;

import dev.fulcrum.Failures;
import dev.fulcrum.config.ProxyProtocolVersion;
import dev.fulcrum.config.TcpListenerSettings;
import dev.fulcrum.http.wire.ProxyProtocol;
import dev.fulcrum.routing.Attempts;
import dev.fulcrum.routing.HashKey;
import dev.fulcrum.routing.RoutedBackend;
import dev.fulcrum.routing.TableRef;
import dev.fulcrum.observe.Observability;
import dev.fulcrum.observe.TcpObserver;
import java.net.InetSocketAddress;
import java.util.Collections;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.Tcp;
import org.apache.pekko.util.ByteString;
import org.apache.pekko.stream.TLSClosing;
import org.apache.pekko.stream.TLSProtocol;
import org.apache.pekko.stream.javadsl.TLS;
import dev.fulcrum.tls.TlsContext;
import dev.fulcrum.tls.TlsException;

/**
 * The L4 listener on Pekko Streams' {@code Tcp} ({@code engine = streams}).
 *
 * <p>The backend connection is made first and joined with a not-yet-materialized client flow; only once the connect
 * succeeds (with TLS to the pool's backends: once the backend's handshake completed) is the client's side materialized
 * into it. A failed connect or backend handshake therefore leaves the client untouched, and the
 * next backend can be tried without the client noticing. Both directions are then joined with backpressure and
 * half-close. On a TLS listener the client side is Pekko's TLS stage over the socket with {@code TlsContext}'s engine;
 * its handshake begins once a backend is connected (nothing reaches the backend before it completes) and is bounded
 * by the handshake timeout from the accept.
 */
final class StreamsTcpListener extends CountingTcpListener {

  private final TableRef table;
  private final Tcp tcp;
  private final Materializer materializer;
  private volatile Tcp.ServerBinding binding;
  /** Null on a plain listener. */
  private final TlsContext tls;
  private final org.apache.pekko.actor.typed.Scheduler scheduler;

  private StreamsTcpListener(TcpListenerSettings settings, TableRef table, Tcp tcp, Materializer materializer,
      TcpObserver observer, TlsContext tls, org.apache.pekko.actor.typed.ActorSystem<?> system) {
    super(settings, observer);
    this.table = table;
    this.tcp = tcp;
    this.materializer = materializer;
    this.tls = tls;
    this.scheduler = system.scheduler();
  }

  static CompletionStage<TcpListener> start(
      org.apache.pekko.actor.typed.ActorSystem<?> system, TcpListenerSettings settings, TableRef table) {
    StreamsTcpListener listener;
    try {
      listener = new StreamsTcpListener(settings, table, Tcp.get(system), Materializer.matFromSystem(system),
          Observability.get(system).tcp(settings), TlsContext.forListener(settings.name(), settings.tls()), system);
    } catch (TlsException e) {
      return CompletableFuture.failedFuture(new IllegalArgumentException(e.getMessage()));
    }
    return Tcp.get(system)
        .bind(
            settings.bind().host(),
            settings.bind().port(),
            1024,
            Collections.emptyList(),
            true,
            Optional.of(settings.idleTimeout()))
        // at most max-connections handled at once: beyond that the stream stops pulling, so Pekko stops accepting and
        // new clients wait in the kernel's backlog (as HAProxy's maxconn)
        .mapAsyncUnordered(settings.maxConnections(), listener::accept)
        .to(Sink.ignore())
        .run(listener.materializer)
        .thenApply(bound -> {
          listener.binding = bound;
          if (listener.tls != null) listener.tls.watch(TlsContext.WATCH_SECONDS);
          return (TcpListener) listener;
        });
  }

  @Override
  public InetSocketAddress localAddress() {
    return binding.localAddress();
  }

  @Override
  public Optional<TlsContext> tls() {
    return Optional.ofNullable(tls);
  }

  @Override
  public CompletionStage<Done> unbind() {
    if (tls != null) tls.close();
    return binding.unbind().thenApply(unit -> Done.getInstance());
  }

  /** Handles one client connection; the stage completes when it is closed. */
  private CompletionStage<Done> accept(Tcp.IncomingConnection client) {
    if (!permitted(client.remoteAddress().getAddress())) {
      refuse(client);
      return CompletableFuture.completedFuture(Done.getInstance());
    }
    openConnections.incrementAndGet();
    observer.opened();
    long started = System.nanoTime();
    CompletableFuture<Done> closed = new CompletableFuture<>();
    Attempts attempts = Attempts.pick(
        table.current(), HashKey.clientIp(client.remoteAddress().getAddress()), settings.connectAttempts());
    if (attempts == null) {
      noBackend.increment();
      close(client, closed);
      observer.closed(client.remoteAddress(), null, 0, 0, started, 0, System.nanoTime(), 0, 0,
          TcpObserver.Termination.REFUSED);
      return closed;
    }
    connect(client, clientFlow(client), attempts, closed, started);
    return closed;
  }

  /** One client connection's TLS: whether its handshake completed, and how to end it when it takes too long. */
  private static final class Handshake {
    volatile boolean done;
    /** The engine, once made: it knows whether it refused a renegotiation. */
    volatile dev.fulcrum.nio.HandshakeWatchingEngine engine;
    final CompletableFuture<ByteString> timeout = new CompletableFuture<>();
  }

  /** The client's bytes as the backend gets them: decrypted on a TLS listener, whose handshake is bounded. */
  private ClientFlow clientFlow(Tcp.IncomingConnection client) {
    if (tls == null) return new ClientFlow(client.flow(), null);
    Handshake handshake = new Handshake();
    Flow<ByteString, ByteString, NotUsed> network = Flow.of(ByteString.class)
        // fails the bytes to the client, which closes the connection, when the handshake takes too long
        .merge(Source.completionStage(handshake.timeout), true)
        .via(client.flow());
    Flow<ByteString, ByteString, NotUsed> decrypted = Flow.of(ByteString.class)
        .<TLSProtocol.SslTlsOutbound>map(TLSProtocol.SendBytes::new)
        // wrapped as the pekko HTTP engine's are: Pekko's stage would never send Conscrypt's close_notify (the client
        // was not told the backend closed), and JSSE would serve a renegotiation
        .via(TLS.create(() -> handshake.engine = new dev.fulcrum.nio.HandshakeWatchingEngine(tls.newServerEngine()),
            session -> handshake.done = true, TLSClosing.eagerClose()).join(network))
        .collect(new scala.PartialFunction<TLSProtocol.SslTlsInbound, ByteString>() {
          @Override
          public boolean isDefinedAt(TLSProtocol.SslTlsInbound in) {
            return in instanceof TLSProtocol.SessionBytes;
          }

          @Override
          public ByteString apply(TLSProtocol.SslTlsInbound in) {
            return ((TLSProtocol.SessionBytes) in).bytes();
          }
        });
    scheduler.scheduleOnce(tls.handshakeTimeout(), () -> {
      if (!handshake.done) {
        handshake.timeout.completeExceptionally(new javax.net.ssl.SSLHandshakeException(
            "the TLS handshake did not complete within " + tls.handshakeTimeout().toMillis() + " ms"));
      }
    }, materializer.executionContext());
    return new ClientFlow(decrypted, handshake);
  }

  private record ClientFlow(Flow<ByteString, ByteString, NotUsed> flow, Handshake handshake) {
    /** Whether the connection failed in or for want of its TLS handshake, or by a refused renegotiation. */
    boolean handshakeFailed() {
      return handshake != null
          && (!handshake.done || (handshake.engine != null && handshake.engine.renegotiationRefused()));
    }
  }

  private void connect(Tcp.IncomingConnection client, ClientFlow clientFlow, Attempts attempts,
      CompletableFuture<Done> closed, long started) {
    RoutedBackend backend = attempts.next();
    if (backend.tls() != null && settings.sendProxyProtocol() != ProxyProtocolVersion.OFF) {
      // the pool was given TLS at runtime: the header would go inside the TLS (refused in the config for this reason)
      gaveUp(client.remoteAddress(), attempts.made(), backend, "send-proxy-protocol needs engine = nio with a pool that "
          + "has TLS to its backends (the header must precede the handshake)");
      close(client, closed);
      observer.closed(client.remoteAddress(), backend, attempts.made(), attempts.made(), started, 0,
          System.nanoTime(), 0, 0, TcpObserver.Termination.CONNECT_FAILED);
      return;
    }
    CompletableFuture<Flow<ByteString, ByteString, NotUsed>> clientSide = new CompletableFuture<>();
    // completes once the backend's TLS handshake did (a plain connection: at once)
    CompletableFuture<Void> handshake = new CompletableFuture<>();
    // bytes each way, counted per chunk by a stage before each watch (so every chunk is counted when it fires)
    long[] bytes = new long[2];
    Pair<Pair<CompletionStage<Done>, CompletionStage<Tcp.OutgoingConnection>>, CompletionStage<Done>> watched =
        toBackend(client, bytes)
            .watchTermination(Keep.right())
            .viaMat(outgoing(backend, handshake), Keep.both())
            .via(Flow.of(ByteString.class).map(chunk -> {
              bytes[1] += chunk.size();
              return chunk;
            }))
            .watchTermination(Keep.both())
            .joinMat(Flow.completionStageFlow(clientSide), Keep.left())
            .run(materializer);
    CompletionStage<Done> toBackendDone = watched.first().first();
    CompletionStage<Done> toClientDone = watched.second();
    // Connected means through the TLS handshake too: the client is joined only then, so that a backend that cannot be
    // verified is a failed connect like a refused one, and the next backend is tried with the client untouched.
    CompletionStage<?> connectedStage = watched.first().second();
    if (backend.tls() != null) {
      toClientDone.whenComplete((done, error) -> handshake.completeExceptionally(error != null ? error
          : new javax.net.ssl.SSLHandshakeException("the backend closed the connection within the TLS handshake")));
      long timeout = settings.connectTimeout().toMillis();
      org.apache.pekko.actor.Cancellable timer = scheduler.scheduleOnce(settings.connectTimeout(), () ->
          handshake.completeExceptionally(new javax.net.ssl.SSLHandshakeException(
              "the TLS handshake did not complete within " + timeout + " ms")), materializer.executionContext());
      handshake.whenComplete((done, error) -> timer.cancel());
      connectedStage = watched.first().second().thenCompose(connected -> handshake);
    }
    connectedStage.whenComplete((connected, failure) -> {
      if (failure == null) {
        backend.stats().connectSucceeded();
        backend.stats().connectionOpened();
        long connectedAt = System.nanoTime();
        CompletableFuture.allOf(toBackendDone.toCompletableFuture(), toClientDone.toCompletableFuture())
            .whenComplete((done, error) -> {
              backend.stats().connectionClosed();
              openConnections.decrementAndGet();
              TcpObserver.Termination end = error == null ? TcpObserver.Termination.NORMAL : TcpObserver.Termination.RESET;
              if (clientFlow.handshakeFailed()) {
                end = TcpObserver.Termination.TLS_REFUSED;
                tlsRefused(client.remoteAddress(), error == null ? "closed within the handshake" : Failures.describe(error));
              }
              observer.closed(client.remoteAddress(), backend, attempts.made(), attempts.made() - 1, started,
                  connectedAt, System.nanoTime(), bytes[0], bytes[1], end);
              closed.complete(Done.getInstance());
            });
        clientSide.complete(clientFlow.flow());
      } else {
        // ends the backend's side (a handshake that timed out) without materializing the client's
        clientSide.completeExceptionally(Failures.unwrap(failure));
        backend.reportConnectFailure(Failures.describe(failure));
        if (attempts.hasNext()) {
          connect(client, clientFlow, attempts, closed, started);
        } else {
          gaveUp(client.remoteAddress(), attempts.made(), backend, Failures.describe(failure));
          close(client, closed);
          observer.closed(client.remoteAddress(), backend, attempts.made(), attempts.made(), started, 0,
              System.nanoTime(), 0, 0, TcpObserver.Termination.CONNECT_FAILED);
        }
      }
    });
  }

  /**
   * The client's bytes on their way to the backend (counted in {@code bytes[0]}), after the PROXY header when the
   * listener sends one.
   */
  private Flow<ByteString, ByteString, NotUsed> toBackend(Tcp.IncomingConnection client, long[] bytes) {
    Flow<ByteString, ByteString, NotUsed> counted = Flow.of(ByteString.class).map(chunk -> {
      bytes[0] += chunk.size();
      return chunk;
    });
    ProxyProtocolVersion version = settings.sendProxyProtocol();
    if (version == ProxyProtocolVersion.OFF) return counted;
    byte[] header = ProxyProtocol.header(version == ProxyProtocolVersion.V2, client.remoteAddress(), client.localAddress());
    return counted.prepend(Source.single(ByteString.fromArray(header)));
  }

  /** {@code handshake} is completed when the backend's TLS handshake is (at once on a plain connection). */
  private Flow<ByteString, ByteString, CompletionStage<Tcp.OutgoingConnection>> outgoing(RoutedBackend backend,
      CompletableFuture<Void> handshake) {
    // No idle timeout here: every byte passes the client side too, whose idle timeout covers the pair.
    dev.fulcrum.tls.BackendTls backendTls = backend.tls();
    if (backendTls != null) {
      // re-encrypted (with the TLS of the table this backend came in); Pekko checks the session once the handshake
      // completed, which is how the handshake's end is learnt
      return tcp.outgoingConnectionWithTls(
          backend.socketAddress(),
          () -> backendTls.newEngine(backend.address().host(), backend.address().port()),
          Optional.empty(),
          Collections.emptyList(),
          Optional.of(settings.connectTimeout()),
          Optional.empty(),
          session -> {
            handshake.complete(null);
            return Optional.empty();
          },
          TLSClosing.eagerClose());
    }
    handshake.complete(null);
    return tcp.outgoingConnection(
        backend.socketAddress(),
        Optional.empty(),
        Collections.emptyList(),
        true,
        Optional.of(settings.connectTimeout()),
        Optional.empty());
  }

  private void close(Tcp.IncomingConnection client, CompletableFuture<Done> closed) {
    refuse(client);
    openConnections.decrementAndGet();
    closed.complete(Done.getInstance());
  }

  /** Closes the client without a byte either way. */
  private void refuse(Tcp.IncomingConnection client) {
    client.handleWith(Flow.fromSinkAndSource(Sink.<ByteString>cancelled(), Source.<ByteString>empty()), materializer);
  }
}
