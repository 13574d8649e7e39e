package dev.fulcrum.http;

import dev.fulcrum.config.HttpListenerSettings;
import dev.fulcrum.http.nio.NioHttpListener;
import dev.fulcrum.http.pekko.PekkoHttpListener;
import dev.fulcrum.nio.EventLoops;
import dev.fulcrum.routing.RoutingTables;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorSystem;

/** An L7 listener: proxies each request to the pool its route names, on the engine its settings choose. */
public interface HttpListener {
  /** Binds the listener; the stage fails if the port is taken. */
  static CompletionStage<HttpListener> start(
      ActorSystem<?> system, EventLoops loops, HttpListenerSettings settings, RoutingTables tables) {
    return switch (settings.engine()) {
      case NIO -> NioHttpListener.start(loops, settings, tables);
      case PEKKO -> PekkoHttpListener.start(system, settings, tables);
    };
  }

  HttpListenerSettings settings();

  InetSocketAddress localAddress();

  /** Stops accepting new connections; open ones go on. */
  CompletionStage<Done> unbind();

  /** Lets in-flight requests finish for up to {@code deadline}, then closes every connection, clients' and backends'. */
  CompletionStage<Done> terminate(Duration deadline);
}
