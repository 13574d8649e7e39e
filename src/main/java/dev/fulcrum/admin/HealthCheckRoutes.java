package dev.fulcrum.admin;

import static dev.fulcrum.admin.ApiCalls.done;
import static dev.fulcrum.admin.ApiCalls.error;
import static dev.fulcrum.admin.ApiCalls.json;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fulcrum.config.AdminSettings;
import dev.fulcrum.config.HealthCheckJson;
import dev.fulcrum.config.HealthCheckSettings;
import dev.fulcrum.config.SettingsException;
import dev.fulcrum.pool.PoolControl;
import dev.fulcrum.pool.PoolEntity;
import dev.fulcrum.pool.PoolState;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;

/**
 * {@code GET} and {@code PUT /api/pools/{pool}/health-check}, {@code /api/pools/{pool}/tls} and {@code
 * /api/pools/{pool}/protocol}: a pool's health-check settings, its TLS to its backends and the protocol spoken on those
 * connections, changed as events ({@link PoolEntity.SetHealthCheck}, {@link PoolEntity.SetTls}, {@link
 * PoolEntity.SetProtocol}) like every other change, with the token when one is set. The body has the config's field
 * names and is validated by the config's parser. A health-check body changes the fields it names; a tls body is the
 * whole block (fields left out take their defaults, {@code {"enabled": false}} turns TLS off), and its files must be
 * usable on the node that takes the call; a protocol body is {@code {"protocol": "h2c", "max-concurrent-streams": 50}}
 * (the streams left out take their default).
 */
final class HealthCheckRoutes {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final long MAX_BODY = 64 * 1024;

  private final ActorSystem<?> system;
  private final AdminSettings settings;
  private final PoolControl pools;

  HealthCheckRoutes(ActorSystem<?> system, AdminSettings settings, PoolControl pools) {
    this.system = system;
    this.settings = settings;
    this.pools = pools;
  }

  /** The response when the call is {@code /api/pools/{pool}/health-check}, else null. */
  CompletionStage<HttpResponse> handle(HttpRequest request) {
    List<String> path = new java.util.ArrayList<>();
    request.getUri().pathSegments().forEach(s -> {
      if (!s.isEmpty()) path.add(s);
    });
    if (path.size() != 4 || !path.get(0).equals("api") || !path.get(1).equals("pools")
        || !(path.get(3).equals("health-check") || path.get(3).equals("tls") || path.get(3).equals("protocol"))) {
      return null;
    }
    String part = path.get(3);
    String pool = path.get(2);
    HttpResponse refused = ApiCalls.refusedParameters(request);
    if (refused != null) {
      request.discardEntityBytes(system);
      return done(refused);
    }
    if (request.method() == HttpMethods.GET) {
      request.discardEntityBytes(system);
      return state(pool).thenApply(state -> json(StatusCodes.OK, render(part, state)))
          .exceptionally(this::failure);
    }
    if (request.method() != HttpMethods.PUT) {
      request.discardEntityBytes(system);
      return done(error(StatusCodes.METHOD_NOT_ALLOWED, "method " + request.method().value() + " not allowed here (GET, PUT)")
          .addHeader(RawHeader.create("Allow", "GET, PUT")));
    }
    if (!ApiCalls.authorized(request, settings)) {
      request.discardEntityBytes(system);
      return done(ApiCalls.unauthorized());
    }
    if (request.entity().getContentLengthOption().orElse(0) > MAX_BODY) {
      request.discardEntityBytes(system);
      return done(error(StatusCodes.PAYLOAD_TOO_LARGE, "body larger than 64 KiB"));
    }
    String origin = "admin-api " + request.getAttribute(AttributeKeys.remoteAddress)
        .flatMap(a -> a.getAddress()).map(java.net.InetAddress::getHostAddress).orElse("unknown");
    return Json.text(request, MAX_BODY, settings.askTimeout(), system)
        .thenCompose(body -> state(pool).thenCompose(state -> {
          PoolEntity.Request change = PoolEntity.Request.of(origin, settings.askTimeout());
          if (part.equals("tls")) {
            java.util.Optional<dev.fulcrum.config.BackendTlsSettings> next = PoolTls.parse(body);
            return pools.pool(pool).<PoolEntity.Reply>ask(r -> new PoolEntity.SetTls(next, change, r), settings.askTimeout());
          }
          if (part.equals("protocol")) {
            dev.fulcrum.config.BackendProtocol next = PoolProtocol.parse(body);
            return pools.pool(pool).<PoolEntity.Reply>ask(r -> new PoolEntity.SetProtocol(next, change, r), settings.askTimeout());
          }
          HealthCheckSettings next = HealthCheckJson.parse(body, state.pool().healthCheck());
          return pools.pool(pool).<PoolEntity.Reply>ask(r -> new PoolEntity.SetHealthCheck(next, change, r), settings.askTimeout());
        }))
        .thenApply(reply -> {
          if (reply instanceof PoolEntity.Rejected rejected) {
            StatusCode status = switch (rejected.reason()) {
              case NO_SUCH_POOL, NO_SUCH_BACKEND -> StatusCodes.NOT_FOUND;
              case INVALID -> StatusCodes.BAD_REQUEST;
              case UNAVAILABLE, EXPIRED, READ_ONLY -> StatusCodes.SERVICE_UNAVAILABLE;
              case ALREADY_EXISTS -> StatusCodes.CONFLICT;
            };
            return error(status, rejected.message());
          }
          if (reply instanceof PoolEntity.OutcomeUnknown unknown) {
            // as the rest of the API: the write may or may not be in the journal; the client reads before retrying
            return error(StatusCodes.SERVICE_UNAVAILABLE, unknown.message());
          }
          PoolState state = ((PoolEntity.Ok) reply).state();
          return json(StatusCodes.OK, render(part, state));
        })
        .exceptionally(this::failure);
  }

  private CompletionStage<PoolState> state(String pool) {
    return pools.pool(pool).<PoolState>ask(PoolEntity.GetState::new, settings.askTimeout()).thenApply(state -> {
      if (!state.exists()) throw new ApiError(StatusCodes.NOT_FOUND, "no pool '" + pool + "'");
      return state;
    });
  }

  private static ObjectNode render(String part, PoolState state) {
    ObjectNode node = MAPPER.createObjectNode().put("pool", state.name()).put("version", state.version());
    switch (part) {
      case "tls" -> node.set("tls", MAPPER.valueToTree(dev.fulcrum.config.BackendTlsSettingsParser.render(state.pool().tls())));
      case "protocol" -> node.set("protocol", MAPPER.valueToTree(state.pool().protocol().render()));
      default -> node.set("healthCheck", MAPPER.valueToTree(HealthCheckJson.render(state.pool().healthCheck())));
    }
    return node;
  }

  private HttpResponse failure(Throwable thrown) {
    Throwable cause = thrown instanceof CompletionException && thrown.getCause() != null ? thrown.getCause() : thrown;
    if (cause instanceof ApiError e) return error(e.status, e.getMessage());
    if (cause instanceof SettingsException e) return error(StatusCodes.BAD_REQUEST, e.getMessage());
    if (cause instanceof TimeoutException) {
      return error(StatusCodes.SERVICE_UNAVAILABLE, "the pool did not answer in time").addHeader(RawHeader.create("Retry-After", "1"));
    }
    return error(StatusCodes.INTERNAL_SERVER_ERROR, "internal error: " + cause.getClass().getSimpleName());
  }

}
