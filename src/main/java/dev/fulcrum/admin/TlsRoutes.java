package dev.fulcrum.admin;

import static dev.fulcrum.admin.ApiCalls.done;
import static dev.fulcrum.admin.ApiCalls.error;
import static dev.fulcrum.admin.ApiCalls.json;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fulcrum.config.AdminSettings;
import dev.fulcrum.tls.TlsContext;
import dev.fulcrum.tls.TlsException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;

/**
 * {@code POST /api/tls/reload}: every TLS listener of this node reads its certificate files now (as it does by itself
 * when they change). A listener whose new files cannot be used keeps the certificates it has, and the answer (422)
 * names it and the file; the others are reloaded all the same. A change: needs the token when one is set.
 */
final class TlsRoutes {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private final ActorSystem<?> system;
  private final AdminSettings settings;
  private final Supplier<List<TlsContext>> listeners;

  TlsRoutes(ActorSystem<?> system, AdminSettings settings, Supplier<List<TlsContext>> listeners) {
    this.system = system;
    this.settings = settings;
    this.listeners = listeners;
  }

  /** The response when the call is {@code /api/tls/reload}, else null. */
  CompletionStage<HttpResponse> handle(HttpRequest request) {
    String path = request.getUri().path();
    if (!path.equals("/api/tls/reload") && !path.equals("/api/tls/reload/")) return null;
    request.discardEntityBytes(system);
    if (request.method() != HttpMethods.POST) {
      return done(error(StatusCodes.METHOD_NOT_ALLOWED, "method " + request.method().value() + " not allowed here (POST)")
          .addHeader(RawHeader.create("Allow", "POST")));
    }
    if (!ApiCalls.authorized(request, settings)) {
      return done(ApiCalls.unauthorized());
    }
    HttpResponse refused = ApiCalls.refusedParameters(request);
    if (refused != null) return done(refused);
    // file reads: off the server's dispatcher, as certificate files may sit on a slow disk
    return CompletableFuture.supplyAsync(this::reloadAll, system.executionContext());
  }

  private HttpResponse reloadAll() {
    ArrayNode reloaded = MAPPER.createArrayNode();
    ArrayNode failed = MAPPER.createArrayNode();
    for (TlsContext tls : listeners.get()) {
      try {
        tls.reload();
        reloaded.addObject().put("listener", tls.listener()).put("certificates", tls.describe());
      } catch (TlsException e) {
        failed.addObject().put("listener", tls.listener()).put("error", e.getMessage());
      }
    }
    ObjectNode body = MAPPER.createObjectNode();
    body.set("reloaded", reloaded);
    if (failed.isEmpty()) return json(StatusCodes.OK, body);
    StringBuilder summary = new StringBuilder();
    failed.forEach(f -> summary.append(summary.length() == 0 ? "" : "; ").append("listener ")
        .append(f.get("listener").asText()).append(": ").append(f.get("error").asText())
        .append(" (its certificates in use stay)"));
    body.put("error", summary.toString());
    body.set("failed", failed);
    return json(StatusCodes.UNPROCESSABLE_ENTITY, body);
  }

}
