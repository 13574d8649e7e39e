package dev.fulcrum.demo;

import dev.fulcrum.config.DemoSettings;
import dev.fulcrum.runtime.LargeStackExecutor;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.japi.function.Function;
import org.apache.pekko.stream.Materializer;

/**
 * Tiny HTTP backends served in-process so the default config has something to balance: {@code GET /} answers with
 * the backend's name, {@code GET /health} with {@code up}.
 */
public final class DemoBackends {
  private DemoBackends() {}

  public static CompletionStage<List<ServerBinding>> start(ActorSystem<?> system, DemoSettings demo) {
    List<CompletableFuture<ServerBinding>> bindings = new ArrayList<>();
    Materializer materializer = LargeStackExecutor.materializer(system);
    for (DemoSettings.Backend backend : demo.backends()) {
      bindings.add(
          Http.get(system).newServerAt(demo.host(), backend.port())
              .withMaterializer(materializer).bind(handler(system, backend.name())).toCompletableFuture());
    }
    return CompletableFuture.allOf(bindings.toArray(new CompletableFuture<?>[0]))
        .thenApply(all -> bindings.stream().map(CompletableFuture::join).toList());
  }

  /** Answers like the demo backends; public so tests can run the same servers. */
  public static Function<HttpRequest, CompletionStage<HttpResponse>> handler(ActorSystem<?> system, String name) {
    return request -> {
      request.discardEntityBytes(system);
      String path = request.getUri().path();
      HttpResponse response = switch (path) {
        case "/" -> text(name + "\n");
        case "/health" -> text("up\n");
        default -> HttpResponse.create().withStatus(StatusCodes.NOT_FOUND).withEntity("not found\n");
      };
      return CompletableFuture.completedFuture(response);
    };
  }

  private static HttpResponse text(String body) {
    return HttpResponse.create().withEntity(ContentTypes.TEXT_PLAIN_UTF8, body);
  }
}
