package dev.fulcrum.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigValue;
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
    int value = read(key, config::getInt);
    if (value < min || value > max) throw error(key, value + " is outside " + min + "-" + max);
    return value;
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
    if (where.contains("reference.conf") || where.contains("hardcoded value") || where.isBlank()) return "";
    return where.strip();
  }

  /** Typesafe Config prefixes its messages with origin and path; keep only the part that says what is wrong. */
  private static String problemOf(ConfigException e) {
    String message = e.getMessage();
    int at = message.lastIndexOf(": ");
    return at >= 0 ? message.substring(at + 2) : message;
  }
}
