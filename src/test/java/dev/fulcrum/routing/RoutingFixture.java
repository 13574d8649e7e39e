package dev.fulcrum.routing;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.testing.HttpBackend;
import dev.fulcrum.testing.TestConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.japi.function.Function;

/** Real HTTP backends on their own actor system and a Fulcrum node over them, for routing tests with live pools. */
final class RoutingFixture implements AutoCloseable {
  private final ActorTestKit backendKit = ActorTestKit.create("backends");
  final List<HttpBackend> backends = new ArrayList<>();
  private Fulcrum fulcrum;

  ActorSystem<?> backendSystem() {
    return backendKit.system();
  }

  void addBackend(Function<HttpRequest, CompletionStage<HttpResponse>> handler) {
    backends.add(new HttpBackend(backendKit.system(), handler));
  }

  /** Adds a backend that answers {@code body} to every request. */
  void addBackend(String body) {
    addBackend(request -> {
      request.discardEntityBytes(backendKit.system());
      return CompletableFuture.completedFuture(HttpResponse.create().withEntity(body));
    });
  }

  /** The backends' addresses as the inside of a HOCON list: {@code "127.0.0.1:1", "127.0.0.1:2"}. */
  String addresses() {
    return backends.stream().map(b -> '"' + b.address() + '"').collect(Collectors.joining(", "));
  }

  Fulcrum start(String hocon) {
    fulcrum = Fulcrum.start(TestConfig.of(hocon));
    return fulcrum;
  }

  @Override
  public void close() throws Exception {
    if (fulcrum != null) fulcrum.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
    backends.forEach(HttpBackend::close);
    backendKit.shutdownTestKit();
  }
}
