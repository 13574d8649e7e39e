package dev.fulcrum.http.pekko;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.fulcrum.config.HttpListenerSettings;
import dev.fulcrum.http.HttpListener;
import dev.fulcrum.http.proxy.ListenerPolicy;
import dev.fulcrum.runtime.LargeStackExecutor;
import dev.fulcrum.tls.TlsContext;
import dev.fulcrum.tls.TlsException;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.http.javadsl.ConnectionContext;
import org.apache.pekko.http.javadsl.ServerBuilder;
import dev.fulcrum.routing.RoutingTables;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.settings.ServerSettings;
import org.apache.pekko.japi.function.Function;
import org.apache.pekko.stream.Materializer;

/**
 * An L7 listener on Pekko HTTP ({@code engine = pekko}): a Pekko HTTP server whose limits come from the listener's settings and whose handler proxies each
 * request to the pool its route names.
 */
public final class PekkoHttpListener implements HttpListener {
  private final HttpListenerSettings settings;
  private final ServerBinding binding;
  private final BackendClients clients;
  private final TlsContext tls;

  @Override
  public java.util.Optional<TlsContext> tls() {
    return java.util.Optional.ofNullable(tls);
  }

  private PekkoHttpListener(HttpListenerSettings settings, ServerBinding binding, BackendClients clients, TlsContext tls) {
    this.settings = settings;
    this.binding = binding;
    this.clients = clients;
    this.tls = tls;
  }

  public static CompletionStage<HttpListener> start(
      ActorSystem<?> system, HttpListenerSettings settings, RoutingTables tables,
      dev.fulcrum.http.proxy.ListenerObserver observer) {
    return start(system, settings, dev.fulcrum.http.proxy.RouteTableRef.of(settings.name(), settings.routes(), tables), observer);
  }

  /** Binds a listener that reads its routes from {@code routes} on every request. */
  public static CompletionStage<HttpListener> start(
      ActorSystem<?> system, HttpListenerSettings settings, dev.fulcrum.http.proxy.RouteTableRef routes,
      dev.fulcrum.http.proxy.ListenerObserver observer) {
    Materializer materializer = LargeStackExecutor.materializer(system);
    ListenerPolicy policy = new ListenerPolicy(settings, routes);
    observer.retryBudget(policy.retryBudget());
    ProxyContext context = new ProxyContext(
        system, materializer, new BackendClients(system, materializer), policy, observer);
    Function<HttpRequest, CompletionStage<HttpResponse>> handler = new PekkoProxy(context, new WebSocketProxy(context));
    TlsContext tls;
    try {
      tls = settings.tls().isPresent() ? TlsContext.load(settings.name(), settings.tls().get()) : null;
    } catch (TlsException e) {
      return CompletableFuture.failedFuture(new IllegalArgumentException(e.getMessage()));
    }
    ServerSettings serverSettings = ServerSettings.create(serverConfig(settings).withFallback(system.settings().config()));
    ServerBuilder server = Http.get(system)
        .newServerAt(settings.bind().host(), settings.bind().port())
        .withMaterializer(materializer)
        .withSettings(serverSettings);
    // the same engines as the nio engine's: protocols, suites, SNI certificates and client authentication; bounded (a
    // timer armed from the engine's making) and counted by a wrapper, as Pekko HTTP has no hook of its own for either
    if (tls != null) {
      TlsContext bound = tls;
      TlsStageWatchdog watchdog = new TlsStageWatchdog(settings.name());
      dev.fulcrum.nio.RateLimitedCounter refusals = new dev.fulcrum.nio.RateLimitedCounter((count, sample) ->
          org.slf4j.LoggerFactory.getLogger(PekkoHttpListener.class).info(
              "listener {}: {} TLS handshake(s) refused, failed or timed out; the latest: {}", settings.name(), count,
              sample == null ? "" : sample.getMessage()));
      server = server.enableHttps(ConnectionContext.httpsServer(() -> new dev.fulcrum.tls.HandshakeBoundEngine(
          bound.newServerEngine(), bound.handshakeTimeout(), reason -> {
            observer.tlsRefused();
            refusals.increment(new dev.fulcrum.nio.Refusal(reason));
          }, watchdog)));
    }
    return server.bindFlow(PekkoConnection.flow(handler, serverSettings.getPipeliningLimit(), observer)).thenApply(binding -> {
      if (tls != null) tls.watch(2);
      return (HttpListener) new PekkoHttpListener(settings, binding, context.clients(), tls);
    });
  }

  @Override
  public HttpListenerSettings settings() {
    return settings;
  }

  @Override
  public InetSocketAddress localAddress() {
    return binding.localAddress();
  }

  @Override
  public CompletionStage<Done> unbind() {
    return binding.unbind();
  }

  @Override
  public CompletionStage<Done> terminate(Duration deadline) {
    return binding.terminate(deadline).thenApply(terminated -> {
      clients.close();
      if (tls != null) tls.close();
      return Done.getInstance();
    });
  }

  private static Config serverConfig(HttpListenerSettings settings) {
    HttpListenerSettings.HttpLimits limits = settings.limits();
    return ConfigFactory.parseString(
        "pekko.http.server {\n"
            + "  server-header = \"\"\n"
            + "  remote-address-attribute = on\n"
            + "  raw-request-uri-header = on\n"
            + "  parsing.ssl-session-attribute = on\n"
            // the proxy times backends out itself (504); a server-side timeout would cut long uploads and downloads
            + "  request-timeout = infinite\n"
            + "  idle-timeout = " + settings.clientIdleTimeout().toMillis() + "ms\n"
            + "  max-connections = " + limits.maxConnections() + "\n"
            + "  parsing {\n"
            + "    max-content-length = " + limits.maxBodySize() + "\n"
            + "    max-header-value-length = " + limits.maxHeaderValueLength() + "\n"
            + "    max-header-count = " + limits.maxHeaderCount() + "\n"
            + "    max-uri-length = " + limits.maxUriLength() + "\n"
            + "    max-chunk-size = 16m\n"
            + "    error-handler = \"" + ParsingErrors.class.getName() + "\"\n"
            + "  }\n"
            + "}\n");
  }
}
