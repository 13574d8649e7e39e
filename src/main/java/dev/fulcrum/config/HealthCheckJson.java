package dev.fulcrum.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The body of {@code PUT /api/pools/{pool}/health-check}: the same fields as a pool's {@code health-check} block in the
 * config ({@code type, path, expect-status, expect-body, interval, timeout, rise, fall, method, host, headers,
 * service, down-interval, fast-interval};
 * durations as "2s" or
 * milliseconds), validated by the same parser, so the API accepts exactly what the config accepts. Fields left out
 * keep the pool's current values.
 */
public final class HealthCheckJson {
  public static final Set<String> FIELDS =
      Set.of("type", "path", "expect-status", "expect-body", "interval", "timeout", "rise", "fall", "method", "host",
          "headers", "service", "down-interval", "fast-interval");

  private HealthCheckJson() {}

  /** The new settings, or a {@link SettingsException} naming the field and the problem. */
  public static HealthCheckSettings parse(String json, HealthCheckSettings current) {
    Config body;
    try {
      body = RequestBody.parse(json, true);
    } catch (ConfigException e) {
      throw new SettingsException("the body is not a JSON object: " + e.getMessage());
    }
    new ConfigReader(body, "").onlyKnown(body, FIELDS, "a health-check");
    Config merged = body.withFallback(ConfigFactory.parseMap(asMap(current))).resolve();
    try {
      return SettingsParser.healthCheck(new ConfigReader(merged, ""));
    } catch (SettingsException e) {
      // the parser names the key and where it came from; the client wrote a field of its body
      String message = e.getMessage().replace(" (request body: 1)", "");
      throw new SettingsException("field " + message);
    }
  }

  private static Map<String, Object> asMap(HealthCheckSettings s) {
    Map<String, Object> map = new LinkedHashMap<>();
    map.put("type", s.kind().name().toLowerCase(java.util.Locale.ROOT));
    map.put("path", s.path());
    map.put("expect-status", s.expectStatus());
    map.put("expect-body", s.expectBody().orElse(""));
    map.put("interval", s.interval().toMillis() + "ms");
    map.put("timeout", s.timeout().toMillis() + "ms");
    map.put("rise", s.rise());
    map.put("fall", s.fall());
    map.put("method", s.method());
    map.put("host", s.host().orElse(""));
    map.put("headers", s.headers());
    map.put("service", s.service());
    // empty: follows the interval, also when a later request changes only that
    map.put("down-interval", s.downInterval().map(d -> d.toMillis() + "ms").orElse(""));
    map.put("fast-interval", s.fastInterval().map(d -> d.toMillis() + "ms").orElse(""));
    return map;
  }

  /** The settings as the API shows them (the same field names). */
  public static Map<String, Object> render(HealthCheckSettings s) {
    Map<String, Object> map = asMap(s);
    map.put("interval", s.interval().toMillis() + "ms");
    // reads are open: header values (an Authorization, say) are not shown, only which headers are set
    Map<String, String> names = new LinkedHashMap<>();
    s.headers().keySet().forEach(name -> names.put(name, "(set)"));
    map.put("headers", names);
    return map;
  }
}
