package dev.fulcrum.http;

import dev.fulcrum.config.HttpListenerSettings;
import dev.fulcrum.nio.EventLoops;
import dev.fulcrum.routing.RoutingTables;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

final class NioHttpListener {
  static CompletionStage<HttpListener> start(EventLoops loops, HttpListenerSettings settings, RoutingTables tables) {
    return CompletableFuture.failedFuture(new UnsupportedOperationException("engine = nio is not built yet"));
  }
}
