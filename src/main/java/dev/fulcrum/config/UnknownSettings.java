package dev.fulcrum.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigUtil;
import com.typesafe.config.ConfigValue;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Names under {@code fulcrum} that no setting has: a misspelt key ({@code stratgy}, {@code respons-timeout}) would
 * otherwise be ignored without a word and its default used, where HAProxy, nginx and Envoy refuse an unknown keyword.
 * They are warnings, not errors: a setting is known by its name wherever it sits (names, not a full schema), so a
 * known name in the wrong block is not caught, and a name this list lacks must not stop a node that works.
 *
 * <p>The known names are every key of reference.conf's {@code fulcrum} block and those only its comments show
 * ({@link #DOCUMENTED}); the names users choose (pools, listeners, header fields) are the keys of {@link #isNamedByUser
 * maps}. Lists (routes, backends, certificates) are not looked into.
 */
public final class UnknownSettings {
  /** Settings that reference.conf documents in comments (a pool's, a listener's, TLS's, a route's) or reads elsewhere. */
  private static final Set<String> DOCUMENTED = Set.of(
      "strategy", "backends", "address", "weight", "discovery", "tls", "enabled", "ca-file", "server-name",
      "verify-hostname", "cert-file", "key-file", "protocols", "protocol", "max-concurrent-streams", "bind", "pool",
      "routes", "certificates", "cert", "key", "pkcs12", "password", "ciphers", "client-auth", "client-ca",
      "handshake-timeout", "provider", "proxy-protocol", "trusted", "access-log", "name", "host", "path",
      "match-header", "match-cookie", "rewrite-prefix", "request-headers", "response-headers", "remove", "set", "add",
      "forward-original-path", "firewall", "journal-plugin-fallback");

  private UnknownSettings() {}

  /** One line per unknown name: its path, the nearest known name when one is close, and where it was written. */
  public static List<String> find(Config root) {
    if (!root.hasPath("fulcrum")) return List.of();
    Config reference = com.typesafe.config.ConfigFactory.defaultReference();
    Set<String> known = new TreeSet<>(DOCUMENTED);
    if (reference.hasPath("fulcrum")) addKeys(reference.getObject("fulcrum"), known);
    List<String> unknown = new ArrayList<>();
    Set<String> reported = new TreeSet<>();
    for (Map.Entry<String, ConfigValue> e : root.getConfig("fulcrum").entrySet()) {
      List<String> path = ConfigUtil.splitPath(e.getKey());
      for (int i = 0; i < path.size(); i++) {
        if (isNamedByUser(path, i) || known.contains(path.get(i))) continue;
        String at = "fulcrum." + ConfigUtil.joinPath(path.subList(0, i + 1));
        if (reported.add(at)) {
          String near = nearest(path.get(i), known);
          String where = e.getValue().origin().description();
          unknown.add(at + ": unknown setting, ignored" + (near == null ? "" : " (did you mean " + near + "?)")
              + (where == null || where.isBlank() ? "" : " (" + where + ")"));
        }
        break;
      }
    }
    return unknown;
  }

  /** Every key of the object and of the objects in it, also of empty ones ({@code pools {}}). */
  private static void addKeys(ConfigObject object, Set<String> into) {
    for (Map.Entry<String, ConfigValue> e : object.entrySet()) {
      into.add(e.getKey());
      if (e.getValue() instanceof ConfigObject child) addKeys(child, into);
    }
  }

  /** Whether the key at {@code i} is a name the user chose: of a pool, a listener, a pool's HTTP overrides, a header. */
  static boolean isNamedByUser(List<String> path, int i) {
    if (i == 0) return false;
    String parent = path.get(i - 1);
    if (i == 1 && parent.equals("pools")) return true;
    if (i == 2 && path.get(0).equals("listeners") && (parent.equals("tcp") || parent.equals("http"))) return true;
    if (i == 2 && path.get(0).equals("http") && parent.equals("pools")) return true;
    return parent.equals("headers") || parent.equals("set") || parent.equals("add");
  }

  /** The known name at most two edits away (the nearest), or null. */
  public static String nearest(String name, Set<String> known) {
    String best = null;
    int bestDistance = 3;
    for (String k : known) {
      int d = distance(name, k, bestDistance);
      if (d < bestDistance) {
        bestDistance = d;
        best = k;
      }
    }
    return best;
  }

  /** Levenshtein distance, or {@code limit} once it reaches it. */
  private static int distance(String a, String b, int limit) {
    if (Math.abs(a.length() - b.length()) >= limit) return limit;
    int[] previous = new int[b.length() + 1];
    int[] current = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) previous[j] = j;
    for (int i = 1; i <= a.length(); i++) {
      current[0] = i;
      int rowMin = current[0];
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        current[j] = Math.min(Math.min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
        rowMin = Math.min(rowMin, current[j]);
      }
      if (rowMin >= limit) return limit;
      int[] swap = previous;
      previous = current;
      current = swap;
    }
    return Math.min(previous[b.length()], limit);
  }
}
