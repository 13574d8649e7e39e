package dev.fulcrum.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fulcrum.observe.StatsView;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;

/**
 * The admin port's read-only observability calls, open like {@code GET /api/...}: {@code GET /metrics} (Prometheus),
 * {@code GET /} (the stats page and its two static files), {@code GET /api/listeners} and {@code GET /api/stats}.
 * Everything else goes on to {@link AdminApi}.
 */
final class ObservabilityRoutes {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  /** The stats page's files, read once: path -> (content type, bytes). */
  private static final Map<String, Static> FILES = Map.of(
      "/", new Static("text/html; charset=utf-8", "/stats/index.html"),
      "/stats/stats.js", new Static("application/javascript; charset=utf-8", "/stats/stats.js"),
      "/stats/stats.css", new Static("text/css; charset=utf-8", "/stats/stats.css"));

  private record Static(String contentType, String resource) {
    byte[] bytes() {
      try (InputStream in = ObservabilityRoutes.class.getResourceAsStream(resource)) {
        if (in == null) throw new IllegalStateException("missing resource " + resource);
        return in.readAllBytes();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  private final ActorSystem<?> system;
  private final StatsView view;
  private final Map<String, byte[]> files = new java.util.HashMap<>();

  ObservabilityRoutes(ActorSystem<?> system, java.time.Duration timeout) {
    this.system = system;
    this.view = new StatsView(system, timeout);
    FILES.forEach((path, file) -> files.put(path, file.bytes()));
  }

  /** The response when the call is one of these, else null. */
  CompletionStage<HttpResponse> handle(HttpRequest request) {
    String path = request.getUri().path();
    boolean mine = path.equals("/metrics") || FILES.containsKey(path) || path.equals("/api/listeners")
        || path.equals("/api/stats");
    if (!mine) return null;
    request.discardEntityBytes(system);
    if (request.method() != HttpMethods.GET && request.method() != HttpMethods.HEAD) {
      return CompletableFuture.completedFuture(HttpResponse.create()
          .withStatus(StatusCodes.METHOD_NOT_ALLOWED)
          .addHeader(RawHeader.create("Allow", "GET"))
          .withEntity(ContentTypes.APPLICATION_JSON, "{\"error\":\"only GET is allowed here\"}"));
    }
    switch (path) {
      case "/metrics" -> {
        String type = StatsView.scrapeContentType(request.getHeader("Accept").map(h -> h.value()).orElse(null));
        return view.scrape(type).thenApply(text -> HttpResponse.create()
            .withEntity(HttpEntities.create(ContentTypes.parse(type), text.getBytes(java.nio.charset.StandardCharsets.UTF_8))));
      }
      case "/api/listeners" -> {
        HttpResponse refused = ApiCalls.refusedParameters(request);
        return CompletableFuture.completedFuture(refused != null ? refused : json(view.listeners()));
      }
      case "/api/stats" -> {
        HttpResponse refused = ApiCalls.refusedParameters(request);
        return refused != null ? CompletableFuture.completedFuture(refused) : view.stats().thenApply(ObservabilityRoutes::json);
      }
      default -> {
        Static file = FILES.get(path);
        return CompletableFuture.completedFuture(HttpResponse.create()
            .addHeader(RawHeader.create("Cache-Control", "no-cache"))
            .withEntity(HttpEntities.create(ContentTypes.parse(file.contentType()), files.get(path))));
      }
    }
  }

  private static HttpResponse json(JsonNode body) {
    try {
      return HttpResponse.create().withEntity(ContentTypes.APPLICATION_JSON, MAPPER.writeValueAsBytes(body));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
