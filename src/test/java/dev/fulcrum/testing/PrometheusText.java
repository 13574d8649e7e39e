package dev.fulcrum.testing;

import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A strict parser of the Prometheus text exposition format 0.0.4: every sample belongs to a family declared by a
 * {@code # TYPE} line before it, names and label names are valid, label values are properly quoted and escaped, values
 * parse, no series appears twice and no family is declared twice. Fails with the offending line.
 */
public final class PrometheusText {
  private static final Pattern NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
  private static final Pattern LABEL = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");
  private static final Pattern TYPE = Pattern.compile("# TYPE (\\S+) (counter|gauge|histogram|summary|untyped)");
  private static final Set<String> SUFFIXES = Set.of("_bucket", "_sum", "_count", "_created", "_total");

  private PrometheusText() {}

  /** Parses a scrape into series ({@code name{a="x",b="y"}} with labels in the order written) and their values. */
  public static Map<String, Double> parse(String text) {
    if (!text.endsWith("\n")) throw new AssertionError("the exposition does not end with a newline");
    Map<String, String> types = new HashMap<>();
    Map<String, Double> series = new LinkedHashMap<>();
    Set<String> helped = new HashSet<>();
    int lineNo = 0;
    for (String line : text.split("\n", -1)) {
      lineNo++;
      if (line.isEmpty()) continue;
      String at = "line " + lineNo + ": " + line;
      if (line.startsWith("# HELP ")) {
        String name = line.substring(7).split(" ", 2)[0];
        if (!NAME.matcher(name).matches()) throw new AssertionError("bad metric name in HELP, " + at);
        if (!helped.add(name)) throw new AssertionError("HELP twice for " + name + ", " + at);
        continue;
      }
      if (line.startsWith("# TYPE ")) {
        Matcher m = TYPE.matcher(line);
        if (!m.matches() || !NAME.matcher(m.group(1)).matches()) throw new AssertionError("bad TYPE, " + at);
        if (types.put(m.group(1), m.group(2)) != null) throw new AssertionError("TYPE twice, " + at);
        continue;
      }
      if (line.startsWith("#")) continue;
      int i = 0;
      while (i < line.length() && line.charAt(i) != '{' && line.charAt(i) != ' ') i++;
      String name = line.substring(0, i);
      if (!NAME.matcher(name).matches()) throw new AssertionError("bad metric name, " + at);
      StringBuilder key = new StringBuilder(name);
      if (i < line.length() && line.charAt(i) == '{') {
        key.append('{');
        i++;
        boolean first = true;
        Set<String> seen = new HashSet<>();
        while (line.charAt(i) != '}') {
          int eq = line.indexOf('=', i);
          if (eq < 0) throw new AssertionError("label without '=', " + at);
          String label = line.substring(i, eq);
          if (!LABEL.matcher(label).matches()) throw new AssertionError("bad label name '" + label + "', " + at);
          if (!seen.add(label)) throw new AssertionError("label twice, " + at);
          if (line.charAt(eq + 1) != '"') throw new AssertionError("unquoted label value, " + at);
          int j = eq + 2;
          StringBuilder value = new StringBuilder();
          while (line.charAt(j) != '"') {
            char c = line.charAt(j);
            if (c == '\\') {
              char e = line.charAt(j + 1);
              if (e != '\\' && e != '"' && e != 'n') throw new AssertionError("bad escape, " + at);
              value.append(e == 'n' ? '\n' : e);
              j += 2;
            } else {
              value.append(c);
              j++;
            }
          }
          if (!first) key.append(',');
          first = false;
          key.append(label).append("=\"").append(value).append('"');
          i = j + 1;
          if (line.charAt(i) == ',') i++;
          else if (line.charAt(i) != '}') throw new AssertionError("expected ',' or '}', " + at);
        }
        key.append('}');
        i++;
      }
      if (i >= line.length() || line.charAt(i) != ' ') throw new AssertionError("no value, " + at);
      String[] rest = line.substring(i + 1).split(" ");
      if (rest.length > 2) throw new AssertionError("trailing text, " + at);
      double value;
      try {
        value = switch (rest[0]) {
          case "+Inf" -> Double.POSITIVE_INFINITY;
          case "-Inf" -> Double.NEGATIVE_INFINITY;
          case "NaN" -> Double.NaN;
          default -> Double.parseDouble(rest[0]);
        };
        if (rest.length == 2) Long.parseLong(rest[1]);
      } catch (NumberFormatException e) {
        throw new AssertionError("bad value or timestamp, " + at);
      }
      if (family(name, types) == null) throw new AssertionError("sample before (or without) its TYPE, " + at);
      if (series.put(key.toString(), value) != null) throw new AssertionError("series twice, " + at);
    }
    return series;
  }

  private static String family(String name, Map<String, String> types) {
    if (types.containsKey(name)) return name;
    for (String suffix : SUFFIXES) {
      if (name.endsWith(suffix) && types.containsKey(name.substring(0, name.length() - suffix.length()))) {
        return name.substring(0, name.length() - suffix.length());
      }
    }
    return null;
  }

  /** The value of the one series of {@code name} whose labels include all of {@code labels} ("k=v" each); 0 if none. */
  public static double value(Map<String, Double> series, String name, String... labels) {
    Double found = null;
    for (Map.Entry<String, Double> e : series.entrySet()) {
      String key = e.getKey();
      if (!(key.equals(name) || key.startsWith(name + "{"))) continue;
      boolean all = true;
      for (String label : labels) {
        int eq = label.indexOf('=');
        String wanted = label.substring(0, eq) + "=\"" + label.substring(eq + 1) + "\"";
        if (!(key.contains("{" + wanted + ",") || key.contains("," + wanted + ",") || key.contains("," + wanted + "}")
            || key.contains("{" + wanted + "}"))) {
          all = false;
          break;
        }
      }
      if (!all) continue;
      if (found != null) throw new AssertionError("more than one series of " + name + " matches " + String.join(",", labels));
      found = e.getValue();
    }
    return found == null ? 0 : found;
  }
}
