package dev.fulcrum.testing;

import java.util.concurrent.CompletableFuture;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.model.HttpResponse;

/** An {@link HttpBackend} that answers its name on every path and {@code up} on {@code /health}. */
public final class NamedBackend {
  private NamedBackend() {}

  public static HttpBackend start(ActorSystem<?> system, String name) {
    return new HttpBackend(system, request -> CompletableFuture.completedFuture(
        HttpResponse.create().withEntity(request.getUri().path().equals("/health") ? "up" : name)));
  }
}
