package dev.fulcrum.http;

import dev.fulcrum.config.HttpListenerSettings;
import dev.fulcrum.http.nio.NioHttpListener;
import dev.fulcrum.http.pekko.PekkoHttpListener;
import dev.fulcrum.nio.EventLoops;
import dev.fulcrum.observe.Observability;
import dev.fulcrum.routing.RoutingTables;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;

/** Starts HTTP listeners on the engine their settings choose. */
public final class HttpListeners {
  private HttpListeners() {}

  /** Binds the listener; the stage fails if the port is taken. */
  public static CompletionStage<HttpListener> start(
      ActorSystem<?> system, EventLoops loops, HttpListenerSettings settings, RoutingTables tables) {
    return switch (settings.engine()) {
      case NIO -> NioHttpListener.start(loops, settings, tables, Observability.get(system).http(settings));
      case PEKKO -> PekkoHttpListener.start(system, settings, tables, Observability.get(system).http(settings));
    };
  }

  /** Binds a listener that reads its current routes from {@code routes} on every request (route tables at runtime). */
  public static CompletionStage<HttpListener> start(
      ActorSystem<?> system, EventLoops loops, HttpListenerSettings settings, dev.fulcrum.http.proxy.RouteTableRef routes) {
    return switch (settings.engine()) {
      case NIO -> NioHttpListener.start(loops, settings, routes, Observability.get(system).http(settings));
      case PEKKO -> PekkoHttpListener.start(system, settings, routes, Observability.get(system).http(settings));
    };
  }
}
