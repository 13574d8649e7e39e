package dev.fulcrum.admin;

import static dev.fulcrum.admin.ApiCalls.authorize;
import static dev.fulcrum.admin.ApiCalls.changeRequest;
import static dev.fulcrum.admin.ApiCalls.done;
import static dev.fulcrum.admin.ApiCalls.error;
import static dev.fulcrum.admin.ApiCalls.from;
import static dev.fulcrum.admin.ApiCalls.json;
import static dev.fulcrum.admin.ApiCalls.only;
import static dev.fulcrum.admin.ApiCalls.onlyParameters;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fulcrum.Failures;
import dev.fulcrum.config.AdminSettings;
import dev.fulcrum.config.BackendSettings;
import dev.fulcrum.config.HostPort;
import dev.fulcrum.config.SettingsParser;
import dev.fulcrum.observe.StatsView;
import dev.fulcrum.pool.LocalPools;
import dev.fulcrum.pool.PoolControl;
import dev.fulcrum.pool.PoolEntity;
import dev.fulcrum.pool.PoolEvent;
import dev.fulcrum.pool.PoolState;
import dev.fulcrum.routing.PoolRouter;
import dev.fulcrum.routing.PoolStatus;
import dev.fulcrum.routing.StrategyKind;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;
import java.util.function.BiFunction;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.http.javadsl.model.HttpMethod;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.model.headers.Location;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin HTTP API: a thin translation of JSON requests onto {@link PoolEntity}'s messages. Every failure is a
 * JSON {@code {"error": ...}} with a status (400 bad input naming the field, 401, 404, 405, 409, 503 when the pool's
 * entity does not answer in time); nothing changes on any error.
 */
final class AdminApi {
  private static final Logger log = LoggerFactory.getLogger(AdminApi.class);
  private static final long MAX_BODY = 64 * 1024;
  private static final String[] NONE = {};
  private static final String[] FROM = {"from"};

  private final ActorSystem<?> system;
  private final AdminSettings settings;
  private final PoolControl pools;
  private final ClusterView clusterView;

  AdminApi(ActorSystem<?> system, AdminSettings settings, PoolControl pools) {
    this.system = system;
    this.settings = settings;
    this.pools = pools;
    this.clusterView = new ClusterView(system, pools, settings.askTimeout());
  }

  CompletionStage<HttpResponse> handle(HttpRequest request) {
    if (request.entity().getContentLengthOption().orElse(0) > MAX_BODY) {
      request.discardEntityBytes(system);
      return done(tooLarge());
    }
    return Json.text(request, MAX_BODY, settings.askTimeout(), system)
        .thenCompose(body -> {
          try {
            return route(request, body);
          } catch (ApiError e) {
            return CompletableFuture.completedFuture(error(e));
          }
        })
        .exceptionally(this::failure);
  }

  private CompletionStage<HttpResponse> route(HttpRequest request, String body) {
    List<String> path = new ArrayList<>();
    request.getUri().pathSegments().forEach(s -> {
      if (!s.isEmpty()) path.add(s);
    });
    HttpMethod method = request.method();
    if (path.isEmpty() || !path.get(0).equals("api")) throw ApiError.notFound("no such endpoint " + request.getUri().path());
    onlyParameters(request, path.size() == 4 && path.get(3).equals("events") ? FROM : NONE);
    if (path.size() == 2 && path.get(1).equals("health")) {
      only(method, HttpMethods.GET);
      ObjectNode up = Json.object().put("status", "up");
      return done(json(StatusCodes.OK, up));
    }
    if (path.size() == 2 && path.get(1).equals("cluster")) {
      only(method, HttpMethods.GET);
      return clusterView.render().thenApply(view -> json(StatusCodes.OK, view));
    }
    if (path.size() < 2 || !path.get(1).equals("pools") || path.size() > 5) {
      throw ApiError.notFound("no such endpoint " + request.getUri().path());
    }
    if (method != HttpMethods.GET) authorize(request, settings);
    PoolEntity.Request change = changeRequest(request, settings);
    if (path.size() == 2) {
      if (method == HttpMethods.GET) return listPools();
      only(method, HttpMethods.GET, HttpMethods.POST);
      return createPool(body, change);
    }
    String pool = poolName(path.get(2));
    if (path.size() == 3) {
      if (method == HttpMethods.GET) return getPool(pool);
      only(method, HttpMethods.GET, HttpMethods.DELETE);
      return command(pool, change, PoolEntity.Delete::new).thenCompose(this::settled).thenApply(s -> noContent());
    }
    String sub = path.get(3);
    if (sub.equals("backends") && path.size() == 4) {
      only(method, HttpMethods.POST);
      ObjectNode json = Json.body(body, Set.of("address", "weight"));
      HostPort address = Json.address(json, "address", "address");
      int weight = Json.weight(json, "weight", "weight", 1);
      return command(pool, change, (c, r) -> new PoolEntity.AddBackend(address, weight, c, r))
          .thenCompose(state -> poolResponse(StatusCodes.CREATED, state));
    }
    if (sub.equals("backends") && path.size() == 5) {
      HostPort address = Json.address(path.get(4), "address");
      if (method == HttpMethods.DELETE) {
        return command(pool, change, (c, r) -> new PoolEntity.RemoveBackend(address, c, r)).thenCompose(this::settled).thenApply(s -> noContent());
      }
      only(method, HttpMethods.PATCH, HttpMethods.DELETE);
      return patchBackend(pool, address, body, change);
    }
    if (sub.equals("strategy") && path.size() == 4) {
      only(method, HttpMethods.PUT);
      StrategyKind strategy = Json.strategy(Json.body(body, Set.of("strategy")), "strategy", null);
      return command(pool, change, (c, r) -> new PoolEntity.SetStrategy(strategy, c, r)).thenCompose(state -> poolResponse(StatusCodes.OK, state));
    }
    if (sub.equals("events") && path.size() == 4) {
      only(method, HttpMethods.GET);
      return events(pool, from(request));
    }
    throw ApiError.notFound("no such endpoint " + request.getUri().path());
  }

  private CompletionStage<HttpResponse> createPool(String body, PoolEntity.Request change) {
    ObjectNode json = Json.body(body, Set.of("name", "strategy", "backends", "tls", "protocol"));
    String name = Json.requiredString(json, "name", "name");
    try {
      SettingsParser.checkName(name);
    } catch (IllegalArgumentException e) {
      throw ApiError.badRequest("field 'name': " + e.getMessage());
    }
    StrategyKind strategy = Json.strategy(json, "strategy", StrategyKind.ROUND_ROBIN.configName());
    List<BackendSettings> backends = new ArrayList<>();
    JsonNode list = json.get("backends");
    if (list != null && !list.isArray()) throw ApiError.badRequest("field 'backends' must be an array");
    if (list != null) {
      Map<HostPort, Integer> seen = new HashMap<>();
      for (int i = 0; i < list.size(); i++) {
        String at = "backends[" + i + "]";
        ObjectNode item = Json.object(list.get(i), at, Set.of("address", "weight"));
        HostPort address = Json.address(item, "address", at + ".address");
        if (seen.put(address, i) != null) throw ApiError.badRequest("field '" + at + ".address': duplicate backend " + address);
        backends.add(new BackendSettings(address, Json.weight(item, "weight", at + ".weight", 1)));
      }
    }
    Optional<dev.fulcrum.config.BackendTlsSettings> tls;
    dev.fulcrum.config.BackendProtocol protocol;
    try {
      tls = json.has("tls") ? PoolTls.parse(json.get("tls").toString()) : Optional.empty();
      protocol = json.has("protocol") ? PoolProtocol.parse(json.get("protocol")) : null;
    } catch (dev.fulcrum.config.SettingsException e) {
      throw ApiError.badRequest(e.getMessage());
    }
    return command(name, change, (c, r) -> new PoolEntity.Create(strategy, backends, Optional.empty(), tls, protocol, c, r))
        .thenCompose(state -> poolResponse(StatusCodes.CREATED, state))
        .thenApply(response -> response.addHeader(Location.create("/api/pools/" + name)));
  }

  private CompletionStage<HttpResponse> patchBackend(String pool, HostPort address, String body, PoolEntity.Request change) {
    ObjectNode json = Json.body(body, Set.of("weight", "admin"));
    if (json.has("weight") == json.has("admin")) {
      throw ApiError.badRequest("give exactly one of the fields 'weight' or 'admin'");
    }
    BiFunction<PoolEntity.Request, ActorRef<PoolEntity.Reply>, PoolEntity.Change> command;
    if (json.has("weight")) {
      int weight = Json.weight(json, "weight", "weight", 1);
      command = (c, r) -> new PoolEntity.SetWeight(address, weight, c, r);
    } else {
      String admin = json.get("admin").isTextual() ? json.get("admin").asText() : "";
      command = switch (admin) {
        case "draining" -> (c, r) -> new PoolEntity.Drain(address, c, r);
        case "active" -> (c, r) -> new PoolEntity.Undrain(address, c, r);
        default -> throw ApiError.badRequest("field 'admin' must be \"draining\" or \"active\"");
      };
    }
    return command(pool, change, command).thenCompose(state -> poolResponse(StatusCodes.OK, state));
  }

  private CompletionStage<HttpResponse> listPools() {
    return localPools().thenCompose(known -> {
      List<CompletableFuture<ObjectNode>> rendered = new ArrayList<>();
      known.existing().forEach(state -> rendered.add(renderWithEntity(state, known.router(state.name())).toCompletableFuture()));
      return CompletableFuture.allOf(rendered.toArray(CompletableFuture[]::new)).thenApply(all -> {
        ArrayNode array = Json.MAPPER.createArrayNode();
        rendered.forEach(r -> array.add(r.join()));
        return json(StatusCodes.OK, array);
      });
    });
  }

  /**
   * The pool from this node's replicated view, never from its entity: it answers at once while the entity moves or its
   * journal is down. {@code entityReachable} says whether a change could be made now.
   */
  private CompletionStage<HttpResponse> getPool(String pool) {
    return localPools().thenCompose(known -> {
      Optional<PoolState> state = known.state(pool).filter(PoolState::exists);
      if (state.isEmpty()) throw ApiError.notFound("no pool '" + pool + "'");
      return renderWithEntity(state.get(), known.router(pool)).thenApply(json -> json(StatusCodes.OK, json));
    });
  }

  private CompletionStage<ObjectNode> renderWithEntity(PoolState state, Optional<ActorRef<PoolRouter.Command>> router) {
    CompletableFuture<Boolean> reachable = pools.entityReachable(state.name(), ENTITY_PROBE).toCompletableFuture();
    CompletableFuture<Optional<dev.fulcrum.pool.DiscoveryStatus>> dns = pools.discovery(state.name(), ENTITY_PROBE).toCompletableFuture();
    return render(state, router)
        .thenCombine(reachable, (json, entity) -> json.put("entityReachable", entity))
        .thenCombine(dns, (json, discovery) -> withDiscovery(json, discovery));
  }

  /**
   * A pool that follows DNS names shows each name's last good answer and its last error: {@code "dns":[{"name",
   * "addresses","resolved","error","failures","next"}]}, or {@code "dns":null} when its entity did not answer in time.
   */
  private static ObjectNode withDiscovery(ObjectNode json, Optional<dev.fulcrum.pool.DiscoveryStatus> discovery) {
    if (discovery.isPresent() && discovery.get().names().isEmpty()) return json;
    if (discovery.isEmpty()) {
      json.putNull("dns");
      return json;
    }
    json.set("dns", Json.MAPPER.valueToTree(discovery.get().names()));
    return json;
  }

  /** How long a read waits to learn whether the pool's entity answers; the read itself does not wait for it. */
  private static final java.time.Duration ENTITY_PROBE = java.time.Duration.ofMillis(300);

  private CompletionStage<HttpResponse> events(String pool, long from) {
    return pools.history(pool, from)
        .thenApply(reply -> {
          if (reply instanceof PoolEntity.Rejected rejected) throw rejection(rejected);
          ArrayNode array = Json.MAPPER.createArrayNode();
          for (PoolEntity.Entry entry : ((PoolEntity.History) reply).events()) {
            ObjectNode fields = Json.MAPPER.valueToTree(entry.event());
            ObjectNode event = Json.object().put("seq", entry.seq());
            event.set("timestamp", fields.remove("timestamp"));
            event.put("type", PoolEvent.typeName(entry.event()));
            event.set("origin", fields.remove("origin"));
            event.setAll(fields);
            array.add(event);
          }
          return json(StatusCodes.OK, array);
        });
  }

  /**
   * Sends a change to the pool's entity; completes with the new state, or fails with the matching {@link ApiError}:
   * a refused change (nothing applied) with its own status, 503 when it could not be applied now, 504 when its outcome
   * is unknown.
   */
  private CompletionStage<PoolState> command(
      String pool,
      PoolEntity.Request request,
      BiFunction<PoolEntity.Request, ActorRef<PoolEntity.Reply>, PoolEntity.Change> command) {
    return pools.change(pool, request, command).thenCompose(reply -> {
      if (reply instanceof PoolEntity.Ok ok) return CompletableFuture.completedFuture(ok.state());
      if (reply instanceof PoolEntity.Rejected rejected) throw rejection(rejected);
      String message = ((PoolEntity.OutcomeUnknown) reply).message();
      return pools.known(pool).thenApply(state -> {
        throw new ApiError(StatusCodes.GATEWAY_TIMEOUT, message
            + state.map(s -> " (this node has the pool at version " + s.version() + ")").orElse(""), "unknown");
      });
    });
  }

  /**
   * Answers with the pool as this node sees it, once this node routes by {@code state} (see {@link #settled}).
   */
  private CompletionStage<HttpResponse> poolResponse(StatusCode status, PoolState state) {
    return settled(state)
        .thenCompose(settled -> localPools())
        .thenCompose(known -> render(state, known.router(state.name())))
        .thenApply(json -> json(status, json));
  }

  /**
   * Completes once this node's router has the change: the pool's entity may run on another node, and its state
   * reaches this node through replication. LocalPools answers once it has told the router, and asking the router then
   * comes behind that change. The change is committed already, so a node that does not have it within the ask timeout
   * answers anyway; its table follows moments later.
   */
  private CompletionStage<PoolState> settled(PoolState state) {
    return AskPattern.<LocalPools.Command, Done>ask(pools.localPools(),
            r -> new LocalPools.AwaitVersion(state.name(), state.version(), r), SETTLE, system.scheduler())
        .thenCompose(known -> localPools())
        .thenCompose(known -> known.router(state.name())
            .map(r -> AskPattern.<PoolRouter.Command, PoolStatus>ask(r, PoolRouter.GetStatus::new, SETTLE, system.scheduler())
                .thenApply(status -> state))
            .orElse(CompletableFuture.completedFuture(state)))
        .handle((routed, failure) -> {
          if (failure != null) log.warn("pool {} version {} committed but not yet routed by this node", state.name(), state.version());
          return state;
        });
  }

  /** How long an answer to a committed change waits for this node to route by it (replication takes ~0.1 s). */
  private static final java.time.Duration SETTLE = java.time.Duration.ofSeconds(1);

  private CompletionStage<LocalPools.Pools> localPools() {
    return AskPattern.ask(pools.localPools(), LocalPools.GetPools::new, settings.askTimeout(), system.scheduler());
  }

  /** The pool's definition from its entity, merged with this node's view of each backend (health, connections). */
  private CompletionStage<ObjectNode> render(PoolState state, Optional<ActorRef<PoolRouter.Command>> router) {
    CompletionStage<Optional<PoolStatus>> status = router
        .map(r -> AskPattern.<PoolRouter.Command, PoolStatus>ask(r, PoolRouter.GetStatus::new, settings.askTimeout(), system.scheduler())
            .thenApply(Optional::of))
        .orElse(CompletableFuture.completedFuture(Optional.empty()));
    return status.thenApply(local -> {
      Map<HostPort, PoolStatus.Backend> seen = new HashMap<>();
      local.ifPresent(s -> s.backends().forEach(b -> seen.put(b.address(), b)));
      ObjectNode pool = Json.object()
          .put("name", state.name())
          .put("strategy", state.pool().strategy().configName())
          .put("version", state.version());
      state.pool().tls().ifPresent(tls ->
          pool.set("tls", Json.MAPPER.valueToTree(dev.fulcrum.config.BackendTlsSettingsParser.render(Optional.of(tls)))));
      pool.set("protocol", Json.MAPPER.valueToTree(state.pool().protocol().render()));
      ArrayNode backends = pool.putArray("backends");
      for (BackendSettings b : state.pool().backends()) {
        PoolStatus.Backend here = seen.get(b.address());
        int active = here == null ? 0 : here.activeConnections();
        String admin = b.admin() == BackendSettings.Admin.ACTIVE ? "active" : active == 0 ? "drained" : "draining";
        backends.addObject()
            .put("address", b.address().toString())
            .put("weight", b.weight())
            .put("admin", admin)
            .put("health", here == null ? "unknown" : here.health().label())
            .put("activeConnections", active);
        StatsView.addCounters((ObjectNode) backends.get(backends.size() - 1), system, state.name(), b.address());
      }
      return pool;
    });
  }

  private static String poolName(String name) {
    try {
      return SettingsParser.checkName(name);
    } catch (IllegalArgumentException e) {
      throw ApiError.notFound("no pool '" + name + "'");
    }
  }

  private static ApiError rejection(PoolEntity.Rejected rejected) {
    StatusCode status = switch (rejected.reason()) {
      case NO_SUCH_POOL, NO_SUCH_BACKEND -> StatusCodes.NOT_FOUND;
      case ALREADY_EXISTS -> StatusCodes.CONFLICT;
      case INVALID -> StatusCodes.BAD_REQUEST;
      case UNAVAILABLE, EXPIRED, READ_ONLY -> StatusCodes.SERVICE_UNAVAILABLE;
    };
    return new ApiError(status, rejected.message(), status == StatusCodes.SERVICE_UNAVAILABLE ? "not-applied" : null);
  }

  private HttpResponse failure(Throwable thrown) {
    Throwable t = Failures.unwrap(thrown);
    if (t instanceof ApiError e) return error(e);
    if (t instanceof TimeoutException) {
      // Only local asks time out here (changes go through PoolControl.change, which always answers): nothing changed.
      return error(StatusCodes.SERVICE_UNAVAILABLE, "this node did not answer within the timeout (it is overloaded); try again")
          .addHeader(RawHeader.create("Retry-After", "1"));
    }
    log.error("admin api request failed", t);
    return error(StatusCodes.INTERNAL_SERVER_ERROR, "internal error: " + t.getClass().getSimpleName() + "; see the node's log");
  }

  private static HttpResponse tooLarge() {
    return error(StatusCodes.CONTENT_TOO_LARGE, "the body is larger than " + MAX_BODY + " bytes");
  }

  private static HttpResponse noContent() {
    return HttpResponse.create().withStatus(StatusCodes.NO_CONTENT);
  }

}
