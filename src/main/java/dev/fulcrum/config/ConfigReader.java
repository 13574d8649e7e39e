package dev.fulcrum.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import java.time.Duration;
import java.util.function.Function;

/**
 * Reads typed values under one config path, turning every mistake into a {@link SettingsException} that names the
 * full path and the file and line it came from.
 */
final class ConfigReader {
  private final Config config;
  private final String path;

  ConfigReader(Config config, String path) {
    this.config = config;
    this.path = path;
  }

  String path() {
    return path;
  }

  Config config() {
    return config;
  }

  String full(String key) {
    return path.isEmpty() ? key : path + "." + key;
  }

  ConfigReader child(String key) {
    return new ConfigReader(read(key, config::getConfig), full(key));
  }

  boolean has(String key) {
    return config.hasPath(key);
  }

  String string(String key) {
    return read(key, config::getString);
  }

  int intIn(String key, int min, int max) {
    // read as a number, not an int: past 32 bits Typesafe Config's own text is "has type out-of-range value ..."
    Number value = read(key, k -> {
      typed(k, ConfigValueType.NUMBER);
      return config.getNumber(k);
    });
    if (value.doubleValue() < min || value.doubleValue() > max) throw error(key, value + " is outside " + min + "-" + max);
    return value.intValue();
  }

  /**
   * The one rule for every boolean setting: HOCON's, true/false, on/off or yes/no in a config file (a JSON request body:
   * true or false, JSON's own, see {@link #typed}).
   */
  boolean bool(String key) {
    return read(key, k -> {
      typed(k, ConfigValueType.BOOLEAN);
      try {
        return config.getBoolean(k);
      } catch (ConfigException.WrongType e) {
        throw error(k, "must be true or false (or on/off, yes/no), got " + shown(config.getValue(k)));
      }
    });
  }

  double decimal(String key) {
    return read(key, k -> {
      typed(k, null);
      return config.getDouble(k);
    });
  }

  Duration positiveDuration(String key) {
    Duration value = read(key, config::getDuration);
    if (value.isNegative() || value.isZero()) throw error(key, "must be a positive duration, got " + value);
    return value;
  }

  HostPort hostPort(String key, boolean allowAnyPort) {
    return hostPort(key, string(key), allowAnyPort);
  }

  HostPort hostPort(String key, String text, boolean allowAnyPort) {
    try {
      return HostPort.parse(text, allowAnyPort);
    } catch (IllegalArgumentException e) {
      throw error(key, e.getMessage());
    }
  }

  /**
   * Refuses a key of {@code own} (a block under this reader's path) that is not one of {@code known}: a misspelt
   * setting would otherwise take its default without a word. The one rule for the blocks that are checked whole (a
   * route; what the admin API takes as a listener, a health check, a protocol).
   */
  void onlyKnown(Config own, java.util.Set<String> known, String what) {
    for (String key : own.root().keySet()) {
      if (known.contains(key)) continue;
      String near = UnknownSettings.nearest(key, known);
      throw error(com.typesafe.config.ConfigUtil.joinPath(key), "is not " + what + " setting"
          + (near == null ? "" : " (did you mean " + near + "?)")
          + " (known: " + String.join(", ", known.stream().sorted().toList()) + ")");
    }
  }

  SettingsException error(String key, String problem) {
    return new SettingsException(full(key) + ": " + problem + origin(key));
  }

  private String origin(String key) {
    try {
      ConfigValue value = config.hasPathOrNull(key) ? config.getValue(key) : null;
      String where = described(value == null ? config.origin().description() : value.origin().description());
      return where.isEmpty() ? "" : " (" + where + ")";
    } catch (ConfigException e) {
      return "";
    }
  }

  /**
   * Refuses what HOCON would coerce but the writer cannot have meant: a fraction for an integer (Typesafe Config cuts
   * 2.5 to 2), and, in a JSON {@link RequestBody}, a value of another JSON type ({@code "rise": "3"}, {@code "enabled":
   * "true"}), as JSON clients and the API's own fields expect. {@code type} NUMBER is an
   * integer, null any number.
   */
  private void typed(String key, ConfigValueType type) {
    ConfigValue value = config.getValue(key);
    boolean request = RequestBody.wroteJson(value);
    boolean integer = type == ConfigValueType.NUMBER;
    String expected = type == ConfigValueType.BOOLEAN ? "true or false" : integer ? "an integer" : "a number";
    if (request && value.valueType() != (type == null ? ConfigValueType.NUMBER : type)) {
      throw error(key, "must be " + expected + ", got " + shown(value));
    }
    // Typesafe Config would cut 2.5 to 2 (it reads 3.0 as the integer 3, which is let be)
    if (integer && value.unwrapped() instanceof Double d && d != Math.rint(d)) {
      throw error(key, "must be an integer, got " + shown(value));
    }
  }

  private static String shown(ConfigValue value) {
    String json = value.render(com.typesafe.config.ConfigRenderOptions.concise());
    return switch (value.valueType()) {
      case STRING -> "the string " + json;
      case OBJECT -> "an object";
      case LIST -> "a list";
      case NULL -> "null";
      default -> json;
    };
  }

  private <T> T read(String key, Function<String, T> getter) {
    try {
      return getter.apply(key);
    } catch (ConfigException.Missing e) {
      throw new SettingsException(full(key) + ": is missing" + originOf(config));
    } catch (ConfigException.WrongType | ConfigException.BadValue e) {
      throw new SettingsException(full(key) + ": " + problemOf(e) + origin(key));
    }
  }

  private static String originOf(Config c) {
    String where = described(c.origin().description());
    return where.isEmpty() ? "" : " (in " + where + ")";
  }

  /**
   * Where a value was written, as a user knows it ("my.conf: 12", "request body: 1"): Typesafe Config describes a
   * merged object by all its sources ("merge of my.conf: 3,reference.conf @ jar:file:/...!/reference.conf: 119"), and
   * a default or a value made by the code says nothing the user wrote.
   */
  private static String described(String description) {
    if (description == null) return "";
    String where = description.startsWith("merge of ") ? description.substring("merge of ".length()) : description;
    int comma = where.indexOf(',');
    if (comma >= 0) where = where.substring(0, comma);
    // a request body is one line or a few: its line says nothing the client's own field name does not
    if (where.contains("reference.conf") || where.contains("hardcoded value") || where.isBlank()
        || where.startsWith(RequestBody.ORIGIN)) {
      return "";
    }
    return where.strip();
  }

  /** Typesafe Config prefixes its messages with origin and path; keep only the part that says what is wrong. */
  private static String problemOf(ConfigException e) {
    String message = e.getMessage();
    int at = message.lastIndexOf(": ");
    return at >= 0 ? message.substring(at + 2) : message;
  }
}
