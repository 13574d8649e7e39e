package dev.fulcrum.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.testing.TestConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Every bad route table, refused by the config parser and by {@link RouteRules#table} (what the route table entity
 * checks a runtime change with) with the same field and text: one copy of the rules.
 */
class RouteRulesTest {
  private static final Set<String> POOLS = Set.of("web", "api");

  private static String configError(String routes) {
    String hocon = """
        fulcrum.pools.web.backends = ["127.0.0.1:9001"]
        fulcrum.pools.api.backends = ["127.0.0.1:9002"]
        fulcrum.listeners.http.main { bind = "127.0.0.1:0", routes = %s }
        """.formatted(routes);
    return assertThrows(SettingsException.class, () -> SettingsParser.parse(TestConfig.resolved(hocon))).getMessage();
  }

  /** Each route parsed alone, as the admin API and {@code Fulcrum.parseRoute} do: no table-wide check yet. */
  private static List<HttpRouteSettings> valid(String routes) {
    com.typesafe.config.Config root = TestConfig.resolved("fulcrum.pools.web.backends = [\"127.0.0.1:9001\"]");
    List<HttpRouteSettings> result = new ArrayList<>();
    for (com.typesafe.config.ConfigValue v : com.typesafe.config.ConfigFactory.parseString("r = " + routes).getList("r")) {
      result.add(HttpSettingsParser.parseRoute(root, "main", ((com.typesafe.config.ConfigObject) v).toConfig(), POOLS));
    }
    return result;
  }

  /** The table refused at runtime (pools web and api exist) and in a config, with the same field and text. */
  private static void refusedBoth(String routes, String expected) {
    String config = configError(routes);
    assertTrue(config.startsWith("fulcrum.listeners.http.main." + expected), config);
    // The same table as typed records (as the Java API gives them), checked by the entity's rules.
    List<HttpRouteSettings> typed = valid(routes);
    Optional<RouteRules.Problem> problem = RouteRules.table(typed, POOLS);
    assertTrue(problem.isPresent(), routes);
    assertEquals(expected, problem.get().toString().substring(0, Math.min(expected.length(), problem.get().toString().length())),
        problem.get().toString());
    assertTrue(config.contains(problem.get().message()), config + " | " + problem.get());
  }

  @Test
  void aRouteNamingAMissingPool() {
    refusedBoth("[{pool = web}, {path = \"/x\", pool = nope}]", "routes[1].pool: unknown pool 'nope' (defined: api, web)");
  }

  @Test
  void weightsThatDoNotAddUp() {
    refusedBoth("[{pools = [{pool = web, weight = 60}, {pool = api, weight = 30}]}]", "routes[0].pools: the weights add up to 90, not 100");
    refusedBoth("[{pools = [{pool = web, weight = 100}, {pool = web, weight = 0}]}]", "routes[0].pools[1].pool: pool 'web' appears twice");
    // one pool in a list is not all the traffic unless it says so
    String single = configError("[{pools = [{pool = web, weight = 60}]}]");
    assertTrue(single.startsWith("fulcrum.listeners.http.main.routes[0].pools: the weights add up to 60, not 100 (for all of it: pool = web)"), single);
  }

  @Test
  void overlappingAndUnreachableRoutes() {
    refusedBoth("[{pool = web}, {path = \"/\", pool = api}]", "routes[1]: matches the same host '*' and path '/' as routes[0]");
    refusedBoth("[{host = \"a.example.com\", pool = web}, {host = \"a.example.com\", match-header = \"X-Canary: 1\", pool = api}]",
        "routes[1]: is unreachable: routes[0] ('a.example.com/') takes every request to host 'a.example.com' and path '/' before it");
    refusedBoth("[{pool = web, match-cookie = \"c=1\"}, {pool = api, match-cookie = \"c=1\", name = other}]",
        "routes[1]: matches the same host '*' and path '/' and condition [cookie c=1] as routes[0]");
    refusedBoth("[{pool = web, name = a}, {path = \"/x\", pool = api, name = a}]", "routes[1].name: 'a' is the name of routes[0] too");
  }

  @Test
  void invalidGlobsCidrsHostsAndHeaders() {
    assertTrue(configError("[{pool = web, firewall { deny-paths = [\"admin*\"] }}]")
        .startsWith("fulcrum.listeners.http.main.routes[0].firewall.deny-paths: [0] 'admin*' must start with '/' or '*'"));
    assertTrue(configError("[{pool = web, firewall { deny-paths = [\"/a b\"] }}]")
        .contains("deny-paths: [0] '/a b' must not contain spaces or control characters"));
    assertTrue(configError("[{pool = web, firewall { allow = [\"10.0.0.0/33\"] }}]")
        .contains("routes[0].firewall.allow: [0] '10.0.0.0/33' has prefix length 33, outside 0-32"));
    assertTrue(configError("[{host = \"a b\", pool = web}]").contains("routes[0].host: 'a b' is not \"*\""));
    assertTrue(configError("[{pool = web, match-header = \"X Canary: 1\"}]").contains("routes[0].match-header: 'X Canary: 1' is not"));
    assertTrue(configError("[{pool = web, request-headers { set { \"Content-Length\" = 1 } }}]").contains("frames the message"));
    assertTrue(configError("[{pool = web, colour = blue}]").contains("routes[0].colour: is not a route setting"));
    assertTrue(configError("[{pool = web, pools = [{pool = api, weight = 100}]}]").contains("routes[0].pool: give pool or pools, not both"));
    assertTrue(configError("[{pools = [{pool = web, weight = 101}, {pool = api, weight = 0}]}]").contains("weight: 101 is outside 0-100"));
    // the same glob given as a typed record (the Java API) is refused by the table's rules with the same text
    HttpRouteSettings route = valid("[{pool = web}]").get(0);
    List<HttpRouteSettings> bad = new ArrayList<>(List.of(route.withRules(route.requestHeaders(), route.responseHeaders(),
        new FirewallSettings(List.of(), List.of(), List.of(), List.of("admin*")))));
    assertEquals("routes[0].firewall.deny-paths: [0] 'admin*' must start with '/' or '*' (a glob on the request path)",
        RouteRules.table(bad, POOLS).orElseThrow().toString());
  }

  @Test
  void anEmptyTableIsRefused() {
    assertEquals("routes: is empty: add at least one route, e.g. [{pool = web}]", RouteRules.table(List.of(), POOLS).orElseThrow().toString());
  }

  @Test
  void aGoodTablePasses() {
    assertEquals(Optional.empty(), RouteRules.table(valid("""
        [{path = "/", match-header = "X-Canary: 1", pool = api}, {pool = web},
         {path = "/split", pools = [{pool = web, weight = 90}, {pool = api, weight = 10}]}]
        """), POOLS));
  }
}
