package dev.fulcrum.http.proxy;

import dev.fulcrum.config.HttpRouteSettings;
import dev.fulcrum.routing.RoutingTables;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/** A listener's routes, ordered so that the first match is the most specific host, then the longest path prefix. */
final class Routes {
  private final Route[] ordered;

  Routes(List<HttpRouteSettings> settings, RoutingTables tables) {
    this.ordered =
        settings.stream()
            .map(s -> new Route(s, tables.of(s.pool())))
            .sorted(Comparator.comparingInt(Route::hostRank)
                .thenComparingInt(Route::prefixLength)
                .reversed())
            .toArray(Route[]::new);
  }

  /** The route for this Host header value (may carry a port) and decoded path; null when none matches. */
  Route match(String hostHeader, String path) {
    String host = hostOnly(hostHeader);
    for (Route route : ordered) {
      if (route.matchesHost(host) && route.matchesPath(path)) return route;
    }
    return null;
  }

  private static String hostOnly(String hostHeader) {
    int end = hostHeader.length();
    if (end > 0 && hostHeader.charAt(0) != '[') {
      int colon = hostHeader.lastIndexOf(':');
      if (colon >= 0) end = colon;
    }
    String host = hostHeader.substring(0, end);
    if (host.endsWith(".")) host = host.substring(0, host.length() - 1);
    return host.toLowerCase(Locale.ROOT);
  }
}
