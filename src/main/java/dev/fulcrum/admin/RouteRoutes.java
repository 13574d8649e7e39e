package dev.fulcrum.admin;

import static dev.fulcrum.admin.ApiCalls.authorize;
import static dev.fulcrum.admin.ApiCalls.changeRequest;
import static dev.fulcrum.admin.ApiCalls.done;
import static dev.fulcrum.admin.ApiCalls.error;
import static dev.fulcrum.admin.ApiCalls.from;
import static dev.fulcrum.admin.ApiCalls.json;
import static dev.fulcrum.admin.ApiCalls.only;
import static dev.fulcrum.admin.ApiCalls.onlyParameters;
import static dev.fulcrum.admin.ApiCalls.origin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fulcrum.Failures;
import dev.fulcrum.Fulcrum;
import dev.fulcrum.config.AdminSettings;
import dev.fulcrum.config.HttpRouteSettings;
import dev.fulcrum.config.SettingsException;
import dev.fulcrum.listener.ListenerCommand;
import dev.fulcrum.listener.ListenerReply;
import dev.fulcrum.pool.PoolEntity;
import dev.fulcrum.routes.RouteTableEntity;
import dev.fulcrum.routes.RouteTableState;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.function.BiFunction;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.model.HttpMethod;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code /api/routes...} (route tables, journaled) and {@code POST /api/listeners}, {@code DELETE /api/listeners/{name}}
 * (this node's listeners): translations onto the Java API ({@link Fulcrum#changeRoutes}, {@link Fulcrum#listeners}),
 * with bodies in the config's field names parsed by the config's parser, so both APIs accept the same and answer the
 * same texts. Statuses as for pools: 400 (the field named), 401, 404, 405, 409, 503 not applied, 504 unknown.
 */
final class RouteRoutes {
  private static final Logger log = LoggerFactory.getLogger(RouteRoutes.class);
  private static final long MAX_BODY = 256 * 1024;

  private final ActorSystem<?> system;
  private final AdminSettings settings;
  private final Fulcrum fulcrum;

  RouteRoutes(ActorSystem<?> system, AdminSettings settings, Fulcrum fulcrum) {
    this.system = system;
    this.settings = settings;
    this.fulcrum = fulcrum;
  }

  /** The response when the call is one of these, else null. */
  CompletionStage<HttpResponse> handle(HttpRequest request) {
    List<String> path = new ArrayList<>();
    request.getUri().pathSegments().forEach(s -> {
      if (!s.isEmpty()) path.add(s);
    });
    if (path.size() < 2 || !path.get(0).equals("api")) return null;
    boolean routes = path.get(1).equals("routes");
    boolean listeners = path.get(1).equals("listeners") && (request.method() != HttpMethods.GET || path.size() > 2);
    if (!routes && !listeners) return null;
    if (request.entity().getContentLengthOption().orElse(0) > MAX_BODY) {
      request.discardEntityBytes(system);
      return done(error(new ApiError(StatusCodes.CONTENT_TOO_LARGE, "the body is larger than " + MAX_BODY + " bytes")));
    }
    return Json.text(request, MAX_BODY, settings.askTimeout(), system)
        .thenCompose(body -> {
          if (request.method() != HttpMethods.GET) authorize(request, settings);
          onlyParameters(request, parameters(routes, request.method(), path));
          return routes ? routes(request, path, body) : listeners(request, path, body);
        })
        .exceptionally(this::failure);
  }

  /** The query parameters a call takes: a table's history from a sequence number, a listener's removal a drain. */
  private static String[] parameters(boolean routes, HttpMethod method, List<String> path) {
    if (routes && path.size() == 4 && path.get(3).equals("events")) return new String[] {"from"};
    if (!routes && path.size() == 3 && method == HttpMethods.DELETE) return new String[] {"drain"};
    return new String[0];
  }

  // ---- route tables -----------------------------------------------------------------------------------------------

  private CompletionStage<HttpResponse> routes(HttpRequest request, List<String> path, String body) {
    HttpMethod method = request.method();
    if (path.size() == 2) {
      only(method, HttpMethods.GET);
      ArrayNode tables = Json.MAPPER.createArrayNode();
      fulcrum.routeTables().values().forEach(s -> tables.add(RouteJson.table(s)));
      return done(json(StatusCodes.OK, tables));
    }
    String listener = path.get(2);
    PoolEntity.Request change = changeRequest(request, settings);
    if (path.size() == 3) {
      if (method == HttpMethods.GET) return done(json(StatusCodes.OK, RouteJson.table(table(listener))));
      if (method == HttpMethods.PUT) {
        ObjectNode json = Json.body(body, Set.of("routes"));
        JsonNode list = json.get("routes");
        if (list == null || !list.isArray()) throw ApiError.badRequest("field 'routes' must be an array of routes");
        List<HttpRouteSettings> parsed = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) parsed.add(parse(listener, list.get(i), "routes[" + i + "]"));
        return command(listener, change, (c, r) -> new RouteTableEntity.SetRoutes(parsed, c, r), StatusCodes.OK);
      }
      only(method, HttpMethods.GET, HttpMethods.PUT, HttpMethods.POST);
      ObjectNode json = Json.body(body, null);
      OptionalInt position = position(json.remove("position"));
      HttpRouteSettings route = parse(listener, json, "route");
      return command(listener, change, (c, r) -> new RouteTableEntity.AddRoute(route, position, c, r), StatusCodes.CREATED);
    }
    String name = path.get(3);
    if (path.size() == 4 && name.equals("events")) {
      only(method, HttpMethods.GET);
      return events(listener, from(request));
    }
    if (path.size() == 4) {
      if (method == HttpMethods.GET) {
        return done(json(StatusCodes.OK, RouteJson.route(table(listener).route(name)
            .orElseThrow(() -> ApiError.notFound("no route '" + name + "' in the table of listener '" + listener + "'")))));
      }
      if (method == HttpMethods.DELETE) return command(listener, change, (c, r) -> new RouteTableEntity.RemoveRoute(name, c, r), StatusCodes.OK);
      only(method, HttpMethods.GET, HttpMethods.PUT, HttpMethods.DELETE);
      HttpRouteSettings route = parse(listener, Json.body(body, null), "route");
      return command(listener, change, (c, r) -> new RouteTableEntity.ReplaceRoute(name, route, c, r), StatusCodes.OK);
    }
    if (path.size() == 5) {
      only(method, HttpMethods.PUT);
      String sub = path.get(4);
      if (sub.equals("position")) {
        OptionalInt position = position(Json.body(body, Set.of("position")).get("position"));
        if (position.isEmpty()) throw ApiError.badRequest("field 'position': is missing");
        return command(listener, change, (c, r) -> new RouteTableEntity.MoveRoute(name, position.getAsInt(), c, r), StatusCodes.OK);
      }
      if (sub.equals("rules") || sub.equals("pools")) {
        ObjectNode json = Json.body(body, sub.equals("rules") ? Set.of("request-headers", "response-headers", "firewall") : Set.of("pool", "pools"));
        HttpRouteSettings current = table(listener).route(name)
            .orElseThrow(() -> ApiError.notFound("no route '" + name + "' in the table of listener '" + listener + "'"));
        ObjectNode merged = RouteJson.route(current);
        if (sub.equals("pools")) {
          merged.remove("pool");
          merged.remove("pools");
        }
        merged.setAll(json);
        HttpRouteSettings next = parse(listener, merged, "route");
        return sub.equals("rules")
            ? command(listener, change, (c, r) -> new RouteTableEntity.SetRules(name, next.requestHeaders(), next.responseHeaders(), next.firewall(), c, r), StatusCodes.OK)
            : command(listener, change, (c, r) -> new RouteTableEntity.SetPools(name, next.pools(), c, r), StatusCodes.OK);
      }
    }
    throw ApiError.notFound("no such endpoint " + request.getUri().path());
  }

  private RouteTableState table(String listener) {
    return fulcrum.routeTable(listener).filter(RouteTableState::exists)
        .orElseThrow(() -> ApiError.notFound("no route table for listener '" + listener + "'"));
  }

  private HttpRouteSettings parse(String listener, JsonNode route, String at) {
    if (!route.isObject()) throw ApiError.badRequest("field '" + at + "' must be an object like {\"path\": \"/api\", \"pool\": \"web\"}");
    try {
      return fulcrum.parseRoute(listener, route.toString());
    } catch (SettingsException e) {
      throw ApiError.badRequest(e.getMessage().startsWith("route") ? at + e.getMessage().substring("route".length()) : e.getMessage());
    }
  }

  private static OptionalInt position(JsonNode node) {
    if (node == null || node.isNull()) return OptionalInt.empty();
    if (!node.canConvertToInt() || !node.isIntegralNumber() || node.asInt() < 0) {
      throw ApiError.badRequest("field 'position' must be an integer >= 0 (0 = first), got " + node);
    }
    return OptionalInt.of(node.asInt());
  }

  private CompletionStage<HttpResponse> command(
      String listener,
      PoolEntity.Request request,
      BiFunction<PoolEntity.Request, ActorRef<RouteTableEntity.Reply>, RouteTableEntity.Change> command,
      StatusCode ok) {
    return fulcrum.changeRoutes(listener, request, command).thenApply(reply -> {
      if (reply instanceof RouteTableEntity.Rejected rejected) throw rejection(rejected);
      if (reply instanceof RouteTableEntity.OutcomeUnknown unknown) {
        throw new ApiError(StatusCodes.GATEWAY_TIMEOUT, unknown.message()
            + fulcrum.routeTable(listener).map(s -> " (this node has the table at version " + s.version() + ")").orElse(""), "unknown");
      }
      // this node routes by the change already (changeRoutes saw to it); it reaches the others by replication
      return json(ok, RouteJson.table(((RouteTableEntity.Ok) reply).state()));
    });
  }

  private CompletionStage<HttpResponse> events(String listener, long from) {
    return fulcrum.routeHistory(listener, from).thenApply(reply -> {
      if (reply instanceof RouteTableEntity.Rejected rejected) throw rejection(rejected);
      ArrayNode array = Json.MAPPER.createArrayNode();
      for (RouteTableEntity.Entry entry : ((RouteTableEntity.History) reply).events()) {
        ObjectNode event = Json.object().put("seq", entry.seq());
        var e = entry.event();
        event.put("timestamp", e.timestamp().toString());
        event.put("type", e.getClass().getSimpleName().replaceAll("([a-z])([A-Z])", "$1-$2").toLowerCase(java.util.Locale.ROOT));
        event.put("origin", e.origin());
        if (e.idempotencyKey() != null) event.put("idempotencyKey", e.idempotencyKey());
        if (e instanceof dev.fulcrum.routes.RouteEvent.RoutesSet s) {
          ArrayNode routes = event.putArray("routes");
          s.routes().forEach(r -> routes.add(RouteJson.route(r)));
        } else if (e instanceof dev.fulcrum.routes.RouteEvent.RouteAdded a) {
          event.set("route", RouteJson.route(a.route()));
          event.put("position", a.position());
        } else if (e instanceof dev.fulcrum.routes.RouteEvent.RouteReplaced r) {
          event.put("name", r.name());
          event.set("route", RouteJson.route(r.route()));
        } else if (e instanceof dev.fulcrum.routes.RouteEvent.RouteRemoved r) {
          event.put("name", r.name());
        } else if (e instanceof dev.fulcrum.routes.RouteEvent.RouteMoved m) {
          event.put("name", m.name()).put("position", m.position());
        } else if (e instanceof dev.fulcrum.routes.RouteEvent.RulesChanged r) {
          event.put("name", r.name());
          event.set("request-headers", RouteJson.rules(r.requestHeaders()));
          event.set("response-headers", RouteJson.rules(r.responseHeaders()));
          event.set("firewall", RouteJson.firewall(r.firewall()));
        } else if (e instanceof dev.fulcrum.routes.RouteEvent.PoolsChanged p) {
          event.put("name", p.name());
          ArrayNode pools = event.putArray("pools");
          p.pools().forEach(wp -> pools.addObject().put("pool", wp.pool()).put("weight", wp.weight()));
        }
        array.add(event);
      }
      return json(StatusCodes.OK, array);
    });
  }

  private static ApiError rejection(RouteTableEntity.Rejected rejected) {
    StatusCode status = switch (rejected.reason()) {
      case NO_SUCH_TABLE, NO_SUCH_ROUTE -> StatusCodes.NOT_FOUND;
      case INVALID -> StatusCodes.BAD_REQUEST;
      case UNAVAILABLE, EXPIRED, READ_ONLY -> StatusCodes.SERVICE_UNAVAILABLE;
    };
    return new ApiError(status, rejected.message(), status == StatusCodes.SERVICE_UNAVAILABLE ? "not-applied" : null);
  }

  // ---- listeners --------------------------------------------------------------------------------------------------

  private CompletionStage<HttpResponse> listeners(HttpRequest request, List<String> path, String body) {
    HttpMethod method = request.method();
    if (path.size() == 2) {
      only(method, HttpMethods.GET, HttpMethods.POST);
      ObjectNode json = Json.body(body, null);
      String name = Json.requiredString(json, "name", "name");
      String protocol = Json.requiredString(json, "protocol", "protocol");
      json.remove(List.of("name", "protocol"));
      ListenerCommand command;
      try {
        command = switch (protocol) {
          case "tcp" -> new ListenerCommand.AddTcp(fulcrum.parseTcpListener(name, json.toString()), origin(request));
          case "http" -> new ListenerCommand.AddHttp(fulcrum.parseHttpListener(name, json.toString()), changeRequest(request, settings));
          default -> throw ApiError.badRequest("field 'protocol' must be \"tcp\" or \"http\", got '" + protocol + "'");
        };
      } catch (SettingsException e) {
        String message = e.getMessage();
        throw ApiError.badRequest(message.startsWith(name + ".") ? message.substring(name.length() + 1) : message);
      }
      return fulcrum.listeners(command).thenApply(RouteRoutes::listenerResponse);
    }
    if (path.size() == 3) {
      only(method, HttpMethods.DELETE);
      Optional<Duration> drain = request.getUri().query().get("drain").map(RouteRoutes::duration);
      return fulcrum.listeners(new ListenerCommand.Remove(path.get(2), drain, origin(request))).thenApply(RouteRoutes::listenerResponse);
    }
    throw ApiError.notFound("no such endpoint " + request.getUri().path());
  }

  private static Duration duration(String text) {
    Duration drain;
    try {
      drain = com.typesafe.config.ConfigFactory.parseString("d = \"" + text.replace("\"", "") + "\"").getDuration("d");
    } catch (com.typesafe.config.ConfigException e) {
      throw ApiError.badRequest("query parameter 'drain' must be a duration like 5s or 500ms, got '" + text + "'");
    }
    if (drain.isNegative()) throw ApiError.badRequest("query parameter 'drain' must not be negative, got '" + text + "'");
    return drain;
  }

  private static HttpResponse listenerResponse(ListenerReply reply) {
    if (reply instanceof ListenerReply.Added a) {
      return json(StatusCodes.CREATED, Json.object().put("name", a.name()).put("protocol", a.protocol())
          .put("address", a.address().getAddress().getHostAddress() + ":" + a.address().getPort()));
    }
    if (reply instanceof ListenerReply.Removed r) {
      return json(StatusCodes.OK, Json.object().put("name", r.name()).put("removed", true).put("leftOpen", r.leftOpen()));
    }
    ListenerReply.Rejected rejected = (ListenerReply.Rejected) reply;
    StatusCode status = switch (rejected.reason()) {
      case INVALID -> StatusCodes.BAD_REQUEST;
      case ALREADY_EXISTS, CANNOT_BIND -> StatusCodes.CONFLICT;
      case NO_SUCH_LISTENER -> StatusCodes.NOT_FOUND;
      case UNAVAILABLE -> StatusCodes.SERVICE_UNAVAILABLE;
    };
    return error(new ApiError(status, rejected.message(), status == StatusCodes.SERVICE_UNAVAILABLE ? "not-applied" : null));
  }

  // ---- common -----------------------------------------------------------------------------------------------------

  private HttpResponse failure(Throwable thrown) {
    Throwable t = Failures.unwrap(thrown);
    if (t instanceof ApiError e) return error(e);
    if (t instanceof SettingsException e) return error(ApiError.badRequest(e.getMessage()));
    if (t instanceof IllegalStateException e) return error(new ApiError(StatusCodes.SERVICE_UNAVAILABLE, e.getMessage(), "not-applied"));
    log.error("admin api request failed", t);
    return error(new ApiError(StatusCodes.INTERNAL_SERVER_ERROR, "internal error: " + t.getClass().getSimpleName() + "; see the node's log"));
  }

}
