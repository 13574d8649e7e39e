package dev.fulcrum.admin;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fulcrum.config.FirewallSettings;
import dev.fulcrum.config.HttpRouteSettings;
import dev.fulcrum.config.HttpRouteSettings.Header;
import dev.fulcrum.config.HttpRouteSettings.HeaderRules;
import dev.fulcrum.routes.RouteTableState;
import java.time.Duration;
import java.util.Locale;

/**
 * Routes as the admin API shows them: with the config's field names and values, so that what {@code GET} answers can
 * be sent back in a {@code PUT} (and is parsed by the config's parser).
 */
final class RouteJson {
  private RouteJson() {}

  static ObjectNode table(RouteTableState state) {
    ObjectNode table = Json.object().put("listener", state.listener()).put("version", state.version());
    ArrayNode routes = table.putArray("routes");
    state.routes().forEach(r -> routes.add(route(r)));
    return table;
  }

  static ObjectNode route(HttpRouteSettings r) {
    ObjectNode o = Json.object().put("name", r.name()).put("host", r.host()).put("path", r.pathPrefix());
    if (r.splits()) {
      ArrayNode pools = o.putArray("pools");
      r.pools().forEach(p -> pools.addObject().put("pool", p.pool()).put("weight", p.weight()));
    } else {
      o.put("pool", r.pool());
    }
    r.match().header().ifPresent(h -> o.put("match-header", h.name() + (h.value().isEmpty() ? "" : ": " + h.value())));
    r.match().cookie().ifPresent(c -> o.put("match-cookie", c.name() + (c.value().isEmpty() ? "" : "=" + c.value())));
    r.rewritePrefix().ifPresent(p -> o.put("rewrite-prefix", p));
    if (!r.requestHeaders().isEmpty()) o.set("request-headers", rules(r.requestHeaders()));
    if (!r.responseHeaders().isEmpty()) o.set("response-headers", rules(r.responseHeaders()));
    if (!r.firewall().isOpen()) o.set("firewall", firewall(r.firewall()));
    if (r.forwardOriginalPath()) o.put("forward-original-path", true);
    HttpRouteSettings.Upstream u = r.upstream();
    o.put("connect-timeout", ms(u.connectTimeout()))
        .put("response-timeout", ms(u.responseTimeout()))
        .put("backend-idle-timeout", ms(u.idleTimeout()))
        .put("backend-keep-alive-timeout", ms(u.keepAliveTimeout()))
        .put("max-attempts", u.maxAttempts())
        .put("max-connections-per-backend", u.maxConnections())
        .put("queue-size", u.queueSize())
        .put("queue-timeout", ms(u.queueTimeout()))
        .put("send-proxy-protocol", u.sendProxyProtocol().name().toLowerCase(Locale.ROOT));
    return o;
  }

  static ObjectNode rules(HeaderRules rules) {
    ObjectNode o = Json.object();
    ArrayNode remove = o.putArray("remove");
    rules.remove().forEach(remove::add);
    ObjectNode set = o.putObject("set");
    for (Header h : rules.set()) set.put(h.name(), h.value());
    ObjectNode add = o.putObject("add");
    for (Header h : rules.add()) add.put(h.name(), h.value());
    return o;
  }

  static ObjectNode firewall(FirewallSettings fw) {
    ObjectNode o = Json.object();
    ArrayNode allow = o.putArray("allow");
    fw.allow().forEach(c -> allow.add(c.text()));
    ArrayNode deny = o.putArray("deny");
    fw.deny().forEach(c -> deny.add(c.text()));
    ArrayNode allowPaths = o.putArray("allow-paths");
    fw.allowPaths().forEach(allowPaths::add);
    ArrayNode denyPaths = o.putArray("deny-paths");
    fw.denyPaths().forEach(denyPaths::add);
    return o;
  }

  private static String ms(Duration d) {
    return d.toMillis() + "ms";
  }
}
