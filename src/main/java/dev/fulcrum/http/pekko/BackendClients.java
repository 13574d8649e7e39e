package dev.fulcrum.http.pekko;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.fulcrum.config.HostPort;
import dev.fulcrum.http.proxy.UpstreamKey;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.event.LoggingAdapter;
import org.apache.pekko.http.scaladsl.Http;
import org.apache.pekko.http.scaladsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.scaladsl.settings.ConnectionPoolSettings;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.QueueOfferResult;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import scala.Tuple2;
import scala.util.Try;

/**
 * Keep-alive connection pools to backends, one per backend and set of backend settings, each fed by a bounded queue so
 * a request costs one offer and no stream materialization. The pools never retry by themselves: the proxy decides.
 */
final class BackendClients {
  private final ActorSystem<?> system;
  private final Materializer materializer;
  private final LoggingAdapter log;
  private final ConcurrentHashMap<Target, BoundedSourceQueue<Tuple2<HttpRequest, CompletableFuture<HttpResponse>>>> queues =
      new ConcurrentHashMap<>();
  private final ConcurrentHashMap<Target, Http.HostConnectionPool> pools = new ConcurrentHashMap<>();

  BackendClients(ActorSystem<?> system, Materializer materializer) {
    this.system = system;
    this.materializer = materializer;
    this.log = org.apache.pekko.event.Logging.getLogger(system.classicSystem(), BackendClients.class);
  }

  private record Target(HostPort backend, UpstreamKey key) {}

  /** Sends a request with a relative or absolute URI to the backend; the future fails if the queue is full. */
  CompletableFuture<HttpResponse> send(
      HostPort backend, UpstreamKey key, org.apache.pekko.http.javadsl.model.HttpRequest request) {
    CompletableFuture<HttpResponse> response = new CompletableFuture<>();
    Target target = new Target(backend, key);
    QueueOfferResult result = queues.computeIfAbsent(target, this::open).offer(Tuple2.apply((HttpRequest) request, response));
    if (result == QueueOfferResult.enqueued()) return response;
    if (result == QueueOfferResult.dropped()) {
      response.completeExceptionally(new BackendBusyException(backend));
    } else {
      queues.remove(target);
      response.completeExceptionally(new IllegalStateException("connection pool to " + backend + " was closed"));
    }
    return response;
  }

  /** Shuts every pool down (as Pekko's pool master expects: through the pool's handle); sending afterwards fails. */
  void close() {
    pools.values().forEach(Http.HostConnectionPool::shutdown);
    pools.clear();
    queues.clear();
  }

  private BoundedSourceQueue<Tuple2<HttpRequest, CompletableFuture<HttpResponse>>> open(Target target) {
    ConnectionPoolSettings settings =
        (ConnectionPoolSettings) org.apache.pekko.http.javadsl.settings.ConnectionPoolSettings.create(poolConfig(target.key));
    // the scaladsl pool: javadsl newHostConnectionPool(ConnectHttp, settings, ...) always connects with TLS (Pekko HTTP 1.3.0)
    Pair<BoundedSourceQueue<Tuple2<HttpRequest, CompletableFuture<HttpResponse>>>, Http.HostConnectionPool> materialized =
        Source.<Tuple2<HttpRequest, CompletableFuture<HttpResponse>>>queue(Math.max(1, target.key().queueSize()))
            .viaMat(Http.apply(system.classicSystem())
                .<CompletableFuture<HttpResponse>>newHostConnectionPool(
                    target.backend.host(), target.backend.port(), settings, log, materializer)
                .asJava(), Keep.both())
            .to(Sink.foreach(this::complete))
            .run(materializer);
    pools.put(target, materialized.second());
    return materialized.first();
  }

  private void complete(Tuple2<Try<org.apache.pekko.http.scaladsl.model.HttpResponse>, CompletableFuture<HttpResponse>> outcome) {
    Try<org.apache.pekko.http.scaladsl.model.HttpResponse> result = outcome._1();
    if (result.isSuccess()) {
      // a response arriving after the proxy gave up (504) must still be drained, or its connection stays busy
      if (!outcome._2().complete(result.get())) result.get().discardEntityBytes(materializer);
    } else {
      outcome._2().completeExceptionally(result.failed().get());
    }
  }

  private Config poolConfig(UpstreamKey key) {
    return ConfigFactory.parseString(
            "pekko.http.host-connection-pool {\n"
                + "  max-connections = " + key.maxConnections() + "\n"
                + "  max-retries = 0\n"
                + "  base-connection-backoff = 50ms\n"
                + "  max-connection-backoff = 1s\n"
                + "  idle-timeout = infinite\n"
                + "  keep-alive-timeout = " + key.keepAliveTimeout().toMillis() + "ms\n"
                + "  client {\n"
                + "    connecting-timeout = " + key.connectTimeout().toMillis() + "ms\n"
                + "    idle-timeout = " + key.idleTimeout().toMillis() + "ms\n"
                + "    user-agent-header = \"\"\n"
                + "    parsing {\n"
                + "      max-content-length = infinite\n"
                + "      max-chunk-size = 16m\n"
                + "      max-header-value-length = 64k\n"
                + "      max-header-count = 1000\n"
                + "      max-response-reason-length = 1k\n"
                + "    }\n"
                + "  }\n"
                + "}\n")
        .withFallback(system.settings().config());
  }

  /** The queue of requests waiting for a connection to one backend is full. */
  static final class BackendBusyException extends RuntimeException {
    BackendBusyException(HostPort backend) {
      super("too many requests waiting for a connection to " + backend, null, false, false);
    }
  }
}
