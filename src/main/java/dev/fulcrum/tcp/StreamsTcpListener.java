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

/**
 * The L4 listener on Pekko Streams' {@code Tcp} ({@code engine = streams}).
 *
 * <p>The backend connection is made first and joined with a not-yet-materialized client flow; only once the connect
 * succeeds is the client's side materialized into it. A failed connect therefore leaves the client untouched, and the
 * next backend can be tried without the client noticing. Both directions are then joined with backpressure and
 * half-close.
 */
final class StreamsTcpListener extends CountingTcpListener {

  private final TableRef table;
  private final Tcp tcp;
  private final Materializer materializer;
  private volatile Tcp.ServerBinding binding;

  private StreamsTcpListener(
      TcpListenerSettings settings, TableRef table, Tcp tcp, Materializer materializer, TcpObserver observer) {
    super(settings, observer);
    this.table = table;
    this.tcp = tcp;
    this.materializer = materializer;
  }

  static CompletionStage<TcpListener> start(
      org.apache.pekko.actor.typed.ActorSystem<?> system, TcpListenerSettings settings, TableRef table) {
    StreamsTcpListener listener = new StreamsTcpListener(settings, table, Tcp.get(system), Materializer.matFromSystem(system),
        Observability.get(system).tcp(settings));
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
          return (TcpListener) listener;
        });
  }

  @Override
  public InetSocketAddress localAddress() {
    return binding.localAddress();
  }

  @Override
  public CompletionStage<Done> unbind() {
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
    connect(client, attempts, closed, started);
    return closed;
  }

  private void connect(Tcp.IncomingConnection client, Attempts attempts, CompletableFuture<Done> closed, long started) {
    RoutedBackend backend = attempts.next();
    CompletableFuture<Flow<ByteString, ByteString, NotUsed>> clientSide = new CompletableFuture<>();
    // bytes each way, counted per chunk by a stage before each watch (so every chunk is counted when it fires)
    long[] bytes = new long[2];
    Pair<Pair<CompletionStage<Done>, CompletionStage<Tcp.OutgoingConnection>>, CompletionStage<Done>> watched =
        toBackend(client, bytes)
            .watchTermination(Keep.right())
            .viaMat(outgoing(backend), Keep.both())
            .via(Flow.of(ByteString.class).map(chunk -> {
              bytes[1] += chunk.size();
              return chunk;
            }))
            .watchTermination(Keep.both())
            .joinMat(Flow.completionStageFlow(clientSide), Keep.left())
            .run(materializer);
    CompletionStage<Done> toBackendDone = watched.first().first();
    CompletionStage<Done> toClientDone = watched.second();
    watched.first().second().whenComplete((connected, failure) -> {
      if (failure == null) {
        backend.stats().connectSucceeded();
        backend.stats().connectionOpened();
        long connectedAt = System.nanoTime();
        CompletableFuture.allOf(toBackendDone.toCompletableFuture(), toClientDone.toCompletableFuture())
            .whenComplete((done, error) -> {
              backend.stats().connectionClosed();
              openConnections.decrementAndGet();
              observer.closed(client.remoteAddress(), backend, attempts.made(), attempts.made() - 1, started,
                  connectedAt, System.nanoTime(), bytes[0], bytes[1],
                  error == null ? TcpObserver.Termination.NORMAL : TcpObserver.Termination.RESET);
              closed.complete(Done.getInstance());
            });
        clientSide.complete(client.flow());
      } else {
        backend.reportConnectFailure(Failures.describe(failure));
        if (attempts.hasNext()) {
          connect(client, attempts, closed, started);
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

  private Flow<ByteString, ByteString, CompletionStage<Tcp.OutgoingConnection>> outgoing(RoutedBackend backend) {
    // No idle timeout here: every byte passes the client side too, whose idle timeout covers the pair.
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
