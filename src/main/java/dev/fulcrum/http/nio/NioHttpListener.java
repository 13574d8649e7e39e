package dev.fulcrum.http.nio;

import dev.fulcrum.config.Cidr;
import dev.fulcrum.config.HttpListenerSettings;
import dev.fulcrum.http.HttpListener;
import dev.fulcrum.http.proxy.ExchangeLog;
import dev.fulcrum.http.proxy.ListenerObserver;
import dev.fulcrum.http.proxy.ListenerPolicy;
import dev.fulcrum.nio.AcceptLimit;
import dev.fulcrum.nio.EventLoop;
import dev.fulcrum.nio.EventLoops;
import dev.fulcrum.nio.NioServer;
import dev.fulcrum.routing.RoutingTables;
import dev.fulcrum.tls.TlsContext;
import dev.fulcrum.tls.TlsException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.Done;

/**
 * An L7 listener on Fulcrum's own HTTP/1.1 engine ({@code engine = nio}): each connection lives on the event loop that
 * accepted it, together with the backend connections that serve it, so a request never changes threads. Heads are
 * parsed and rewritten; bodies pass through unchanged as they arrive.
 */
public final class NioHttpListener implements HttpListener {
  private final HttpListenerSettings settings;
  private final ListenerPolicy policy;
  private final ListenerObserver observer;
  private final Map<EventLoop, UpstreamPool> pools = new IdentityHashMap<>();
  private final Set<ClientConnection> connections = ConcurrentHashMap.newKeySet();
  private final AcceptLimit limit;
  private final CompletableFuture<Done> allClosed = new CompletableFuture<>();
  private volatile boolean terminating;
  private volatile NioServer server;
  /** Null on a plain listener. */
  private final TlsContext tls;

  NioHttpListener(HttpListenerSettings settings, RoutingTables tables, EventLoop[] loops, TlsContext tls) {
    this(settings, tables, loops, tls, ListenerObserver.NONE);
  }

  NioHttpListener(
      HttpListenerSettings settings, RoutingTables tables, EventLoop[] loops, TlsContext tls, ListenerObserver observer) {
    this(settings, new ListenerPolicy(settings, tables), loops, tls, observer);
  }

  NioHttpListener(
      HttpListenerSettings settings, ListenerPolicy policy, EventLoop[] loops, TlsContext tls, ListenerObserver observer) {
    this.settings = settings;
    this.tls = tls;
    this.observer = observer;
    this.policy = policy;
    observer.retryBudget(policy.retryBudget());
    this.limit = new AcceptLimit(settings.limits().maxConnections());
    UpstreamPool.Limits limits = new UpstreamPool.Limits();
    for (EventLoop loop : loops) pools.put(loop, new UpstreamPool(loop, limits));
  }

  public static CompletionStage<HttpListener> start(
      EventLoops loops, HttpListenerSettings settings, RoutingTables tables, ListenerObserver observer) {
    return start(loops, settings, dev.fulcrum.http.proxy.RouteTableRef.of(settings.name(), settings.routes(), tables), observer);
  }

  /** Binds a listener that reads its routes from {@code routes} on every request. */
  public static CompletionStage<HttpListener> start(
      EventLoops loops, HttpListenerSettings settings, dev.fulcrum.http.proxy.RouteTableRef routes, ListenerObserver observer) {
    NioHttpListener listener;
    try {
      TlsContext tls = settings.tls().isPresent() ? TlsContext.load(settings.name(), settings.tls().get(), settings.http2().enabled()) : null;
      listener = new NioHttpListener(settings, new ListenerPolicy(settings, routes), loops.all(), tls, observer);
    } catch (TlsException e) {
      return CompletableFuture.failedFuture(new IllegalArgumentException(e.getMessage()));
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    return NioServer.bind(loops, settings.bind().host(), settings.bind().port(), settings.name(), listener::accepted)
        .thenApply(listener::bound);
  }

  HttpListener bound(NioServer bound) {
    server = bound;
    limit.bound(bound);
    if (tls != null) tls.watch(TLS_WATCH_SECONDS);
    return this;
  }

  /** How often certificate files are checked for changes. */
  private static final long TLS_WATCH_SECONDS = 2;

  /** Whether clients come through balancers that send a PROXY protocol header first. */
  boolean expectsProxyProtocol() {
    return !settings.proxyProtocolFrom().isEmpty();
  }

  boolean trustsProxyProtocolFrom(InetAddress peer) {
    for (Cidr cidr : settings.proxyProtocolFrom()) if (cidr.contains(peer)) return true;
    return false;
  }

  /** The listener's TLS, or null when it is plain. */
  TlsContext tlsOrNull() {
    return tls;
  }

  @Override
  public java.util.Optional<TlsContext> tls() {
    return java.util.Optional.ofNullable(tls);
  }

  void accepted(EventLoop loop, SocketChannel channel) {
    observer.connectionOpened();
    limit.opened();
    ClientConnection connection = new ClientConnection(this, loop, channel, pools.get(loop));
    connections.add(connection);
    connection.start();
  }

  void connectionClosed(ClientConnection connection) {
    connections.remove(connection);
    observer.connectionClosed();
    limit.closed();
    if (terminating && connections.isEmpty()) allClosed.complete(Done.getInstance());
  }

  /** Where HTTP/2 protocol violations are counted. */
  dev.fulcrum.http.h2.H2ServerConnection.Observer h2Observer() {
    return violation -> observer.http2Violation(violation.name().toLowerCase(java.util.Locale.ROOT));
  }

  private final dev.fulcrum.nio.RateLimitedCounter tlsRefusals = refusalLog("TLS handshake(s) refused, failed or timed out");

  /** A client's connection ended before its TLS handshake completed: counted, and logged now and then. */
  void tlsRefused(java.net.InetSocketAddress client) {
    observer.tlsRefused();
    tlsRefusals.increment(new dev.fulcrum.nio.Refusal(String.valueOf(client)));
  }

  private final dev.fulcrum.nio.RateLimitedCounter proxyRefusals = refusalLog("connection(s) closed for their PROXY header");

  /** Refusals of one kind, logged at most once a second with how many and the latest one's client and reason. */
  private dev.fulcrum.nio.RateLimitedCounter refusalLog(String what) {
    return new dev.fulcrum.nio.RateLimitedCounter((count, sample) -> org.slf4j.LoggerFactory.getLogger(NioHttpListener.class)
        .info("listener {}: {} " + what + "; the latest from {}", settings().name(), count, sample == null ? "" : sample.getMessage()));
  }

  /** A client's connection was closed for its PROXY header: counted, and logged now and then. */
  void proxyRefused(java.net.InetSocketAddress client, String reason) {
    observer.proxyRefused();
    proxyRefusals.increment(new dev.fulcrum.nio.Refusal(client + ": " + reason));
  }

  ExchangeLog.Observer observer() {
    return observer;
  }

  ListenerPolicy policy() {
    return policy;
  }

  @Override
  public HttpListenerSettings settings() {
    return settings;
  }

  @Override
  public InetSocketAddress localAddress() {
    return server.localAddress();
  }

  @Override
  public CompletionStage<Done> unbind() {
    return server.unbind();
  }

  @Override
  public CompletionStage<Done> terminate(Duration deadline) {
    terminating = true;
    limit.stop();
    if (tls != null) tls.close();
    return server.unbind().thenCompose(unbound -> {
      for (ClientConnection c : connections) c.loop.execute(c::drain);
      if (connections.isEmpty()) allClosed.complete(Done.getInstance());
      return allClosed.completeOnTimeout(Done.getInstance(), deadline.toMillis(), TimeUnit.MILLISECONDS);
    }).thenApply(drained -> {
      for (ClientConnection c : connections) c.loop.execute(c::close);
      pools.forEach((loop, pool) -> loop.execute(pool::stop));
      return Done.getInstance();
    });
  }
}
