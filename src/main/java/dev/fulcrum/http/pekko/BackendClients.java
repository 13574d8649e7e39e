package dev.fulcrum.http.pekko;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.fulcrum.config.HostPort;
import dev.fulcrum.http.proxy.UpstreamKey;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.Done;
import org.apache.pekko.actor.Cancellable;
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
 *
 * <p>A pool unused for a while is closed and dropped by a sweep, and opened again by the next request to its backend:
 * backends come and go (removed, replaced, rediscovered under new addresses), and a pool per backend ever seen would
 * only grow. An idle pool holds nothing worth keeping by then, as its connections' own idle timeout has closed them.
 */
final class BackendClients {
  /** A pool is closed once unused for this long, or for twice its connections' idle timeout if that is longer. */
  static final Duration IDLE_AFTER = Duration.ofMinutes(5);
  private static final Duration SWEEP_EVERY = Duration.ofSeconds(30);

  private final ActorSystem<?> system;
  private final Materializer materializer;
  private final LoggingAdapter log;
  private final Duration idleAfter;
  private final ConcurrentHashMap<Target, Client> clients = new ConcurrentHashMap<>();
  private final Cancellable sweep;
  private volatile boolean closed;

  BackendClients(ActorSystem<?> system, Materializer materializer) {
    this(system, materializer, IDLE_AFTER, SWEEP_EVERY);
  }

  BackendClients(ActorSystem<?> system, Materializer materializer, Duration idleAfter, Duration sweepEvery) {
    this.system = system;
    this.materializer = materializer;
    this.log = org.apache.pekko.event.Logging.getLogger(system.classicSystem(), BackendClients.class);
    this.idleAfter = idleAfter;
    this.sweep = system.scheduler().scheduleWithFixedDelay(sweepEvery, sweepEvery, this::sweep, system.executionContext());
  }

  private record Target(HostPort backend, UpstreamKey key) {}

  /** A request on its way to a backend's pool; its state decides once whether it was sent or timed out waiting. */
  private static final class Waiting extends AtomicInteger {
    static final int WAITING = 0, SENT = 1, EXPIRED = 2;
    final HttpRequest request;
    final CompletableFuture<HttpResponse> response;
    volatile Cancellable timer;

    Waiting(HttpRequest request, CompletableFuture<HttpResponse> response) {
      this.request = request;
      this.response = response;
    }

    boolean claim(int outcome) {
      return compareAndSet(WAITING, outcome);
    }
  }

  /** One backend's pool, its queue of requests waiting for a free connection, and what the sweep needs to know. */
  private final class Client {
    final Target target;
    BoundedSourceQueue<Tuple2<HttpRequest, CompletableFuture<HttpResponse>>> queue;
    Http.HostConnectionPool pool;
    CompletionStage<Done> finished;
    /** Requests handed to Pekko's pool whose response has not come back yet: at most max-connections. */
    final AtomicInteger inPool = new AtomicInteger();
    final ConcurrentLinkedQueue<Waiting> waiting = new ConcurrentLinkedQueue<>();
    final AtomicInteger waitingCount = new AtomicInteger();
    volatile long lastUsed = System.nanoTime();

    Client(Target target) {
      this.target = target;
    }

    void used() {
      lastUsed = System.nanoTime();
    }

    boolean busy() {
      return inPool.get() > 0 || waitingCount.get() > 0;
    }

    boolean tryAcquire() {
      for (int n = inPool.get(); n < target.key.maxConnections(); n = inPool.get()) {
        if (inPool.compareAndSet(n, n + 1)) return true;
      }
      return false;
    }

    /** Hands a request to Pekko's pool, holding a slot already; false when the pool was closed meanwhile. */
    boolean offer(Waiting request) {
      QueueOfferResult result = queue.offer(Tuple2.apply(request.request, request.response));
      if (result == QueueOfferResult.enqueued()) return true;
      release();
      return false;
    }

    /** Queues a request until a slot comes free; false (and the request failed) when the queue is full. */
    boolean enqueue(Waiting request) {
      if (waitingCount.incrementAndGet() > target.key.queueSize()) {
        waitingCount.decrementAndGet();
        request.response.completeExceptionally(new BackendBusyException(target.backend));
        return false;
      }
      request.timer = system.scheduler().scheduleOnce(target.key.queueTimeout(), () -> {
        if (request.claim(Waiting.EXPIRED)) {
          waitingCount.decrementAndGet();
          request.response.completeExceptionally(new QueueTimeoutException(target.backend));
        }
      }, system.executionContext());
      waiting.add(request);
      // a slot may have come free between tryAcquire and add, and its release found the queue empty
      drain();
      return true;
    }

    /** A response came back (or failed): its slot goes to the longest-waiting request that still waits. */
    void release() {
      inPool.decrementAndGet();
      drain();
    }

    private void drain() {
      while (!waiting.isEmpty() && tryAcquire()) {
        Waiting next = waiting.poll();
        if (next == null || !next.claim(Waiting.SENT)) {
          inPool.decrementAndGet();
          continue;
        }
        waitingCount.decrementAndGet();
        next.timer.cancel();
        if (!offer(next)) {
          next.response.completeExceptionally(new IllegalStateException("connection pool to " + target.backend + " was closed"));
        }
      }
    }
  }

  /**
   * Sends a request with a relative or absolute URI to the backend. At most max-connections requests are in Pekko's pool
   * at once; the rest wait here, in order, for at most the queue timeout (Pekko's own pool queue has no timeout, and a
   * request in it cannot be taken back). The future fails if the queue is full or the wait runs out.
   */
  CompletableFuture<HttpResponse> send(
      HostPort backend, UpstreamKey key, org.apache.pekko.http.javadsl.model.HttpRequest request) {
    Waiting waiting = new Waiting((HttpRequest) request, new CompletableFuture<>());
    Target target = new Target(backend, key);
    for (int attempt = 0; ; attempt++) {
      Client client = clients.computeIfAbsent(target, this::open);
      client.used();
      if (client.tryAcquire() ? client.offer(waiting) : client.enqueue(waiting)) return waiting.response;
      if (waiting.response.isDone()) return waiting.response;
      clients.remove(target, client);
      // closed by the sweep between the lookup and the offer: a new pool takes the request
      if (attempt > 0 || closed) {
        waiting.response.completeExceptionally(new IllegalStateException("connection pool to " + backend + " was closed"));
        return waiting.response;
      }
    }
  }

  /** Shuts every pool down (as Pekko's pool master expects: through the pool's handle); sending afterwards fails. */
  void close() {
    closed = true;
    sweep.cancel();
    clients.values().forEach(client -> client.pool.shutdown());
    clients.clear();
  }

  /** Pools open now, for tests. */
  int openPools() {
    return clients.size();
  }

  private void sweep() {
    long now = System.nanoTime();
    clients.forEach((target, client) -> {
      long idle = Math.max(idleAfter.toNanos(), 2 * target.key().idleTimeout().toNanos());
      if (!client.busy() && now - client.lastUsed > idle && clients.remove(target, client)) {
        // what is still queued is sent and answered before the pool shuts down
        client.queue.complete();
        client.finished.whenComplete((done, failure) -> client.pool.shutdown());
      }
    });
  }

  private Client open(Target target) {
    ConnectionPoolSettings settings =
        (ConnectionPoolSettings) org.apache.pekko.http.javadsl.settings.ConnectionPoolSettings.create(poolConfig(target.key));
    Client client = new Client(target);
    // the scaladsl pool: javadsl newHostConnectionPool(ConnectHttp, settings, ...) always connects with TLS (Pekko HTTP 1.3.0)
    Pair<Pair<BoundedSourceQueue<Tuple2<HttpRequest, CompletableFuture<HttpResponse>>>, Http.HostConnectionPool>, CompletionStage<Done>>
        materialized = Source.<Tuple2<HttpRequest, CompletableFuture<HttpResponse>>>queue(target.key().maxConnections())
            .viaMat(pool(target, settings).asJava(), Keep.both())
            .toMat(Sink.foreach(outcome -> {
              client.used();
              complete(outcome);
              client.release();
            }), Keep.both())
            .run(materializer);
    client.queue = materialized.first().first();
    client.pool = materialized.first().second();
    client.finished = materialized.second();
    return client;
  }

  /** The backend's connection pool: over TLS (the pool's, as the nio engine's) when its pool has TLS to its backends. */
  private org.apache.pekko.stream.scaladsl.Flow<Tuple2<HttpRequest, CompletableFuture<HttpResponse>>,
      Tuple2<Try<org.apache.pekko.http.scaladsl.model.HttpResponse>, CompletableFuture<HttpResponse>>, Http.HostConnectionPool>
      pool(Target target, ConnectionPoolSettings settings) {
    org.apache.pekko.http.scaladsl.HttpExt http = Http.apply(system.classicSystem());
    if (target.key().tls() == null) {
      return http.newHostConnectionPool(target.backend.host(), target.backend.port(), settings, log, materializer);
    }
    dev.fulcrum.tls.BackendTls tls = target.key().tls();
    org.apache.pekko.http.scaladsl.HttpsConnectionContext https =
        (org.apache.pekko.http.scaladsl.HttpsConnectionContext) org.apache.pekko.http.javadsl.ConnectionContext.httpsClient(
            (host, port) -> tls.newEngine(host, port));
    return http.newHostConnectionPoolHttps(target.backend.host(), target.backend.port(), https, settings, log, materializer);
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

  /** No connection to the backend came free within the queue timeout. */
  static final class QueueTimeoutException extends RuntimeException {
    QueueTimeoutException(HostPort backend) {
      super("no connection to " + backend + " came free within the queue timeout", null, false, false);
    }
  }
}
