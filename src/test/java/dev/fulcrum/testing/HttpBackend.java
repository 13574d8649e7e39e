package dev.fulcrum.testing;

import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.japi.function.Function;

/** A real HTTP server on 127.0.0.1 and a random port, stoppable and restartable on the same port. */
public final class HttpBackend implements AutoCloseable {
  private final ActorSystem<?> system;
  private final Function<HttpRequest, CompletionStage<HttpResponse>> handler;
  private int port;
  private ServerBinding binding;

  public HttpBackend(ActorSystem<?> system, Function<HttpRequest, CompletionStage<HttpResponse>> handler) {
    this.system = system;
    this.handler = handler;
    start();
  }

  public int port() {
    return port;
  }

  public String address() {
    return "127.0.0.1:" + port;
  }

  /** Binds again on the same port after {@link #stop()}. */
  public void start() {
    binding = get(Http.get(system).newServerAt("127.0.0.1", port).bind(handler));
    port = binding.localAddress().getPort();
  }

  /** Unbinds and closes every open connection: the backend is gone, its port refuses connections. */
  public void stop() {
    get(binding.terminate(java.time.Duration.ofSeconds(1)));
    binding = null;
  }

  @Override
  public void close() {
    if (binding != null) stop();
  }

  private static <T> T get(CompletionStage<T> stage) {
    try {
      return stage.toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }
}
