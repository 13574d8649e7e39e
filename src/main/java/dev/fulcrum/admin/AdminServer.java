package dev.fulcrum.admin;

import dev.fulcrum.config.AdminSettings;
import dev.fulcrum.runtime.LargeStackExecutor;
import dev.fulcrum.pool.PoolControl;
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

/** The bound admin HTTP API of one node. */
public final class AdminServer {
  private final ServerBinding binding;
  private final EventStreamRoutes events;

  private AdminServer(ServerBinding binding, EventStreamRoutes events) {
    this.binding = binding;
    this.events = events;
  }

  public static CompletionStage<AdminServer> start(ActorSystem<?> system, AdminSettings settings, PoolControl pools) {
    return start(system, settings, pools, null);
  }

  /**
   * With {@code fulcrum}, also the route tables' and listeners' calls ({@link RouteRoutes}) and the reload of its TLS
   * listeners' certificates ({@link TlsRoutes}).
   */
  public static CompletionStage<AdminServer> start(
      ActorSystem<?> system, AdminSettings settings, PoolControl pools, dev.fulcrum.Fulcrum fulcrum) {
    TlsRoutes tls = new TlsRoutes(system, settings, fulcrum == null ? java.util.List::of : fulcrum::tlsListeners);
    AdminApi api = new AdminApi(system, settings, pools);
    RouteRoutes routes = fulcrum == null ? null : new RouteRoutes(system, settings, fulcrum);
    ObservabilityRoutes observability = new ObservabilityRoutes(system, settings.askTimeout());
    HealthCheckRoutes healthChecks = new HealthCheckRoutes(system, settings, pools);
    EventStreamRoutes events = new EventStreamRoutes(system, pools, org.apache.pekko.stream.Materializer.matFromSystem(system), settings.askTimeout());
    Function<HttpRequest, CompletionStage<HttpResponse>> handler = request -> {
      java.util.Optional<HttpResponse> crossOrigin = CrossOrigin.refusal(request);
      if (crossOrigin.isPresent()) {
        request.discardEntityBytes(system);
        return java.util.concurrent.CompletableFuture.completedFuture(crossOrigin.get());
      }
      CompletionStage<HttpResponse> answered = routes == null ? null : routes.handle(request);
      if (answered == null) answered = observability.handle(request);
      if (answered == null) answered = healthChecks.handle(request);
      if (answered == null) answered = events.handle(request);
      if (answered == null) answered = tls.handle(request);
      return answered != null ? answered : api.handle(request);
    };
    return Http.get(system)
        .newServerAt(settings.bind().host(), settings.bind().port())
        .withMaterializer(LargeStackExecutor.materializer(system))
        .withSettings(ServerSettings.create(system.settings().config()).withRemoteAddressAttribute(true)
            .withParsingErrorHandler(ParseErrors.class.getName()))
        .bind(handler)
        .thenApply(binding -> new AdminServer(binding, events));
  }

  public InetSocketAddress localAddress() {
    return binding.localAddress();
  }

  /** Stops accepting and lets calls in progress finish for a moment. */
  public CompletionStage<Done> unbind() {
    events.closeStreams();
    return binding.terminate(Duration.ofSeconds(2)).thenApply(terminated -> Done.getInstance());
  }
}
