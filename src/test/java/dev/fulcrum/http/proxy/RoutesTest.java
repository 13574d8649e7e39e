package dev.fulcrum.http.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.config.HttpRouteSettings;
import dev.fulcrum.config.HttpSettings;
import dev.fulcrum.config.SettingsParser;
import dev.fulcrum.http.wire.HeaderFields;
import dev.fulcrum.routing.RoutingTables;
import dev.fulcrum.testing.TestConfig;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The indexed route matcher, socket-less: precedence, conditions, splits, and agreement with a plain scan. */
class RoutesTest {
  private static final HeaderFields NONE = new HeaderFields(1);

  static List<HttpRouteSettings> routes(String routes, String... pools) {
    StringBuilder hocon = new StringBuilder();
    for (String p : pools) hocon.append("fulcrum.pools.").append(p).append(".backends = [\"127.0.0.1:9001\"]\n");
    hocon.append("fulcrum.listeners.http.main { bind = \"127.0.0.1:0\", routes = ").append(routes).append(" }\n");
    HttpSettings http = SettingsParser.parse(TestConfig.resolved(hocon.toString())).http();
    return http.listeners().get(0).routes();
  }


  @Test
  void theMostSpecificHostThenTheLongestWholeSegmentPrefixWins() {
    Routes routes = new Routes(routes("""
        [{pool = any}, {path = "/api", pool = anyapi}, {host = "*.example.com", pool = wild},
         {host = "*.b.example.com", pool = wildb}, {host = "a.b.example.com", pool = exact},
         {host = "a.b.example.com", path = "/api/v1", pool = exactv1}]
        """, "any", "anyapi", "wild", "wildb", "exact", "exactv1"), new RoutingTables());
    assertEquals("exact", pool(routes, "a.b.example.com", "/"));
    assertEquals("exact", pool(routes, "A.B.Example.COM:8080", "/api"), "case and port ignored");
    assertEquals("exact", pool(routes, "a.b.example.com.", "/x"), "trailing dot");
    assertEquals("exactv1", pool(routes, "a.b.example.com", "/api/v1"));
    assertEquals("exactv1", pool(routes, "a.b.example.com", "/api/v1/items"));
    assertEquals("exact", pool(routes, "a.b.example.com", "/api/v10"), "whole segments only");
    assertEquals("wildb", pool(routes, "c.b.example.com", "/"), "the longest suffix");
    assertEquals("wild", pool(routes, "c.example.com", "/api"), "a host pattern beats a longer path of any host");
    assertEquals("any", pool(routes, "example.com", "/"), "*.example.com needs a label before it");
    assertEquals("anyapi", pool(routes, "other", "/api/"));
    assertEquals("anyapi", pool(routes, "", "/api"), "no Host header");
    assertEquals("any", pool(routes, "[::1]:80", "/apix"));
  }

  @Test
  void aHostPatternWithoutAMatchingPathFallsBackToLessSpecificHosts() {
    Routes routes = new Routes(routes("[{host = \"only.example.com\", path = \"/x\", pool = a}, {path = \"/\", pool = b}]", "a", "b"),
        new RoutingTables());
    assertEquals("a", pool(routes, "only.example.com", "/x/y"));
    assertEquals("b", pool(routes, "only.example.com", "/y"));
    Routes none = new Routes(routes("[{host = \"only.example.com\", pool = a}]", "a"), new RoutingTables());
    assertNull(none.match("other.example.com", "/", NONE));
  }

  @Test
  void conditionsAreTriedInTableOrderBeforeTheRouteWithout() {
    Routes routes = new Routes(routes("""
        [{path = "/", match-header = "X-Canary: 1", pool = canary},
         {path = "/", match-cookie = "beta=yes", pool = beta},
         {path = "/", match-header = "X-Debug", pool = debug},
         {path = "/", pool = stable},
         {path = "/only", match-header = "X-Canary: 1", pool = onlycanary}]
        """, "canary", "beta", "debug", "stable", "onlycanary"), new RoutingTables());
    assertEquals("stable", pool(routes, "h", "/"));
    assertEquals("canary", pool(routes, "h", "/", "X-Canary", "1"));
    assertEquals("canary", pool(routes, "h", "/", "x-canary", "1"), "header names without case");
    assertEquals("stable", pool(routes, "h", "/", "X-Canary", "2"), "values exactly");
    assertEquals("debug", pool(routes, "h", "/", "X-Debug", "anything"), "a name alone: present");
    assertEquals("beta", pool(routes, "h", "/", "Cookie", "a=1; beta=yes; c=2"));
    assertEquals("beta", pool(routes, "h", "/", "Cookie", "beta = yes"));
    assertEquals("stable", pool(routes, "h", "/", "Cookie", "xbeta=yes; beta=no"));
    assertEquals("onlycanary", pool(routes, "h", "/only/x", "X-Canary", "1"), "the longer prefix first");
    assertEquals("stable", pool(routes, "h", "/only/x"), "a prefix whose routes all have unmet conditions falls back");
  }

  @Test
  void cookieMatchingReadsEveryPairWithoutSplitting() {
    String[] jars = {"beta=yes", "a=1;beta=yes", "a=1; beta=yes; c", " beta=yes ;", "a=b=c; beta=yes"};
    for (String jar : jars) assertTrue(Routes.hasCookie(headers("Cookie", jar), "beta", "yes"), jar);
    String[] not = {"beta=ye", "betayes", "abeta=yes", "beta=yess", "=yes", "beta", ""};
    for (String jar : not) assertFalse(Routes.hasCookie(headers("Cookie", jar), "beta", "yes"), jar);
    assertTrue(Routes.hasCookie(headers("Cookie", "a=1; beta"), "beta", "") == false, "a name alone without '=' is no cookie");
    assertTrue(Routes.hasCookie(headers("Cookie", "beta="), "beta", ""));
  }

  @Test
  void aSplitRouteSendsEachPoolItsShare() {
    Routes routes = new Routes(routes("[{pools = [{pool = blue, weight = 70}, {pool = green, weight = 20}, {pool = red, weight = 10}]}]",
        "blue", "green", "red"), new RoutingTables());
    Map<String, Integer> counts = new HashMap<>();
    int n = 100_000;
    for (int i = 0; i < n; i++) counts.merge(routes.match("h", "/", NONE).pool(), 1, Integer::sum);
    assertEquals(0.70, counts.get("blue") / (double) n, 0.01, counts.toString());
    assertEquals(0.20, counts.get("green") / (double) n, 0.01, counts.toString());
    assertEquals(0.10, counts.get("red") / (double) n, 0.01, counts.toString());
    Routes zero = new Routes(routes("[{pools = [{pool = blue, weight = 100}, {pool = green, weight = 0}]}]", "blue", "green"),
        new RoutingTables());
    for (int i = 0; i < 1000; i++) assertEquals("blue", zero.match("h", "/", NONE).pool());
  }

  @Test
  void theIndexAgreesWithAScanOverAThousandRoutes() {
    StringBuilder table = new StringBuilder("[");
    List<String[]> defined = new ArrayList<>();
    for (int h = 0; h < 100; h++) {
      String host = h % 10 == 0 ? "*.zone" + h + ".example.com" : "host" + h + ".example.com";
      for (int p = 0; p < 10; p++) {
        String path = p == 0 ? "/" : "/svc" + p + (p % 3 == 0 ? "/v" + p : "");
        table.append("{host = \"").append(host).append("\", path = \"").append(path).append("\", pool = p").append("}\n");
        defined.add(new String[] {host, path});
      }
    }
    table.append("{pool = p, path = \"/fallback\"}]");
    List<HttpRouteSettings> settings = routes(table.toString(), "p");
    assertEquals(1001, settings.size());
    Routes routes = new Routes(settings, new RoutingTables());
    Random random = new Random(17);
    for (int i = 0; i < 20_000; i++) {
      String[] d = defined.get(random.nextInt(defined.size()));
      String host = d[0].startsWith("*.") ? "x" + random.nextInt(3) + d[0].substring(1) : d[0];
      if (random.nextInt(5) == 0) host = "nohost" + i + ".example.com";
      String path = switch (random.nextInt(4)) {
        case 0 -> d[1];
        case 1 -> d[1] + "/more/" + i;
        case 2 -> d[1] + "x";
        default -> "/fallback/" + i;
      };
      Route got = routes.match(host, path, NONE);
      HttpRouteSettings expected = scan(settings, host, path);
      assertEquals(expected == null ? null : expected.name(), got == null ? null : got.name(), host + " " + path);
    }
  }

  @Test
  void lengthsTheIndexSkipsAndLengthsBeyondItsMaskStillMatch() {
    String segment = "s".repeat(70); // longer than the 63 lengths the index keeps apart
    String longHost = "h".repeat(40) + "." + "k".repeat(40) + ".example.com"; // 93 characters
    Routes routes = new Routes(routes("""
        [{path = "/a", pool = a}, {path = "/%1$s", pool = long}, {path = "/%1$s/b", pool = longb},
         {path = "/c", match-header = "X-Canary: 1", pool = canary}, {host = "%2$s", pool = exact},
         {host = "*.%2$s", path = "/w", pool = wild}, {pool = root}]
        """.formatted(segment, longHost), "a", "long", "longb", "canary", "exact", "wild", "root"), new RoutingTables());
    assertEquals("a", pool(routes, "x", "/a"));
    assertEquals("a", pool(routes, "x", "/a/" + segment));
    assertEquals("root", pool(routes, "x", "/ab"), "whole segments only");
    assertEquals("long", pool(routes, "x", "/" + segment));
    assertEquals("long", pool(routes, "x", "/" + segment + "/c"));
    assertEquals("longb", pool(routes, "x", "/" + segment + "/b/d"));
    assertEquals("root", pool(routes, "x", "/" + segment + "s"), "a longer segment than the longest prefix");
    assertEquals("root", pool(routes, "x", "/c"), "the prefix's only route does not take it: the root's does");
    assertEquals("canary", routes.match("x", "/c/d", headers("X-Canary", "1")).pool());
    assertEquals("exact", pool(routes, longHost.toUpperCase(java.util.Locale.ROOT) + ":8080", "/w"));
    assertEquals("wild", pool(routes, "a." + longHost, "/w/x"));
    assertEquals("root", pool(routes, "a." + longHost, "/v"), "the wildcard host has no route for /v: any host's");
    assertEquals("root", pool(routes, "h" + longHost, "/w"), "a host of another length");
  }

  @Test
  void matchingAllocatesNothing() {
    Routes routes = new Routes(routes("""
        [{host = "a.example.com", path = "/api/v1", pool = a}, {host = "*.example.com", pool = a},
         {path = "/x", match-header = "X-Canary: 1", pool = b}, {path = "/x", match-cookie = "c=1", pool = b},
         {pools = [{pool = a, weight = 50}, {pool = b, weight = 50}]}]
        """, "a", "b"), new RoutingTables());
    HeaderFields headers = headers("Accept", "*/*", "Cookie", "z=2; c=1");
    String[] hosts = {"a.example.com:80", "b.example.com", "other.org", "A.EXAMPLE.COM."};
    String[] paths = {"/api/v1/items", "/x/y", "/", "/api"};
    com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
    long id = Thread.currentThread().getId();
    int found = 0;
    long least = Long.MAX_VALUE;
    // the least of several rounds: a round may see a few KB from the JIT swapping code in; one allocation per match
    // would be 200000 x 16 bytes or more in every round
    for (int round = 0; round < 6; round++) {
      long before = threads.getThreadAllocatedBytes(id);
      for (int i = 0; i < 200_000; i++) if (routes.match(hosts[i & 3], paths[(i >> 2) & 3], headers) != null) found++;
      if (round > 0) least = Math.min(least, threads.getThreadAllocatedBytes(id) - before);
    }
    assertTrue(least < 1024, least + " bytes allocated by 200000 matches");
    assertTrue(found > 0);
  }

  /** The old matcher: every route, most specific first, the first that matches. */
  private static HttpRouteSettings scan(List<HttpRouteSettings> routes, String host, String path) {
    HttpRouteSettings best = null;
    int bestRank = -1;
    int bestLength = -1;
    for (HttpRouteSettings r : routes) {
      boolean any = r.host().equals("*");
      boolean wildcard = r.host().startsWith("*.");
      String suffix = wildcard ? r.host().substring(1) : r.host();
      boolean hostOk = any || (wildcard ? host.length() > suffix.length() && host.endsWith(suffix) : host.equals(suffix));
      String prefix = r.pathPrefix();
      boolean pathOk = prefix.length() == 1
          || path.startsWith(prefix) && (path.length() == prefix.length() || path.charAt(prefix.length()) == '/');
      if (!hostOk || !pathOk) continue;
      int rank = any ? 0 : wildcard ? suffix.length() : 100_000;
      if (rank > bestRank || rank == bestRank && prefix.length() > bestLength) {
        best = r;
        bestRank = rank;
        bestLength = prefix.length();
      }
    }
    return best;
  }

  private static String pool(Routes routes, String host, String path, String... header) {
    Route r = routes.match(host, path, headers(header));
    return r == null ? null : r.pool();
  }

  private static HeaderFields headers(String... nameValue) {
    HeaderFields h = new HeaderFields(4);
    for (int i = 0; i + 1 < nameValue.length; i += 2) h.add(nameValue[i], nameValue[i + 1]);
    return h;
  }
}
