package dev.fulcrum.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fulcrum.config.AdminSettings;
import dev.fulcrum.config.UnknownSettings;
import dev.fulcrum.pool.PoolEntity;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpMethod;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.RemoteAddress;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.japi.Pair;

/**
 * What the pools' calls ({@link AdminApi}) and the routes' and listeners' calls ({@link RouteRoutes}) of the admin API
 * do alike, so that a client meets the same rules on both: the token, the terms of a change, paging through a
 * history, the methods allowed, and the JSON errors.
 */
final class ApiCalls {
  private ApiCalls() {}

  private static final String NEEDS_TOKEN = "this call needs the header 'Authorization: Bearer <fulcrum.admin.token>'";

  /** A call that changes something needs the token when one is set. */
  static void authorize(HttpRequest request, AdminSettings settings) {
    if (!authorized(request, settings)) throw new ApiError(StatusCodes.UNAUTHORIZED, NEEDS_TOKEN);
  }

  /** Whether the request has the token, or none is set; compared in constant time. */
  static boolean authorized(HttpRequest request, AdminSettings settings) {
    if (settings.token().isEmpty()) return true;
    byte[] expected = ("Bearer " + settings.token().get()).getBytes(StandardCharsets.UTF_8);
    byte[] given = request.getHeader("Authorization").map(h -> h.value().trim()).orElse("").getBytes(StandardCharsets.UTF_8);
    return MessageDigest.isEqual(expected, given);
  }

  /** The answer to a change without the token. */
  static HttpResponse unauthorized() {
    return error(StatusCodes.UNAUTHORIZED, NEEDS_TOKEN);
  }

  /**
   * The terms of a change made through this request: its origin, the deadline {@code fulcrum.admin.ask-timeout} from
   * now, and the client's {@code Idempotency-Key}, if it sent one.
   */
  static PoolEntity.Request changeRequest(HttpRequest request, AdminSettings settings) {
    PoolEntity.Request change = PoolEntity.Request.of(origin(request), settings.askTimeout());
    Optional<String> key = request.getHeader("Idempotency-Key").map(h -> h.value().trim());
    if (key.isEmpty()) return change;
    PoolEntity.Request.keyProblem(key.get()).ifPresent(problem -> {
      throw ApiError.badRequest("header 'Idempotency-Key': " + problem);
    });
    return change.withIdempotencyKey(key.get());
  }

  /** Where a change made through this request comes from, as its journal records it ("admin-api 127.0.0.1"). */
  static String origin(HttpRequest request) {
    return "admin-api" + request.getAttribute(AttributeKeys.remoteAddress)
        .flatMap(RemoteAddress::getAddress)
        .map(a -> " " + a.getHostAddress())
        .orElse("");
  }

  /** The first version a history call asks for ({@code ?from=}, 1 when absent). */
  static long from(HttpRequest request) {
    Optional<String> from = request.getUri().query().get("from");
    if (from.isEmpty()) return 1;
    try {
      long value = Long.parseLong(from.get());
      if (value >= 1) return value;
    } catch (NumberFormatException e) {
      // reported below
    }
    throw ApiError.badRequest("query parameter 'from' must be an integer >= 1, got '" + from.get() + "'");
  }

  /**
   * Refuses a query parameter the call does not take, and one given twice: either would otherwise be ignored without a
   * word (a misspelt filter that filters nothing, the second of two values).
   */
  static void onlyParameters(HttpRequest request, String... known) {
    Set<String> names = new LinkedHashSet<>(Arrays.asList(known));
    Set<String> seen = new HashSet<>();
    for (Pair<String, String> p : request.getUri().query().toList()) {
      String name = p.first();
      if (!names.contains(name)) {
        String near = UnknownSettings.nearest(name, names);
        throw ApiError.badRequest("query parameter '" + name + "' is not known here"
            + (near == null ? "" : " (did you mean " + near + "?)")
            + (names.isEmpty() ? " (this call takes none)" : " (known: " + String.join(", ", names) + ")"));
      }
      if (!seen.add(name)) {
        throw ApiError.badRequest("query parameter '" + name + "' is given more than once; give it once"
            + " (a list as one comma-separated value)");
      }
    }
  }

  /** As {@link #onlyParameters}, for a handler that answers rather than throws: the 400, or null when all is well. */
  static HttpResponse refusedParameters(HttpRequest request, String... known) {
    try {
      onlyParameters(request, known);
      return null;
    } catch (ApiError e) {
      return error(e);
    }
  }

  static void only(HttpMethod method, HttpMethod... allowed) {
    for (HttpMethod m : allowed) if (m == method) return;
    throw new ApiError(StatusCodes.METHOD_NOT_ALLOWED, method.name() + " is not allowed here (allowed: "
        + String.join(", ", Arrays.stream(allowed).map(HttpMethod::name).toList()) + ")");
  }

  static CompletionStage<HttpResponse> done(HttpResponse response) {
    return CompletableFuture.completedFuture(response);
  }

  static HttpResponse error(StatusCode status, String message) {
    return json(status, Json.object().put("error", message));
  }

  /**
   * The error with, for a change, what became of it: {@code "outcome": "not-applied"} (503, with Retry-After: nothing
   * changed and a retry is safe) or {@code "unknown"} (504: read the version before retrying).
   */
  static HttpResponse error(ApiError e) {
    ObjectNode body = Json.object().put("error", e.getMessage());
    if (e.outcome != null) body.put("outcome", e.outcome);
    HttpResponse response = json(e.status, body);
    return e.status == StatusCodes.SERVICE_UNAVAILABLE ? response.addHeader(RawHeader.create("Retry-After", "1")) : response;
  }

  static HttpResponse json(StatusCode status, JsonNode body) {
    return HttpResponse.create().withStatus(status).withEntity(ContentTypes.APPLICATION_JSON, Json.write(body));
  }
}
