package dev.fulcrum.config;

import com.typesafe.config.Config;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/**
 * The access log ({@code fulcrum.access-log}, each listener may switch it off with {@code access-log.enabled = off})
 * and the application log's format ({@code fulcrum.logging.format}).
 *
 * @param accessLog the node-wide access-log settings
 * @param listenerAccessLog per listener name (HTTP and TCP): whether it writes access-log lines
 * @param applicationJson whether the application log is written as JSON lines
 * @param requestMetrics whether listeners count requests and connections ({@code fulcrum.metrics.enabled}; JVM and
 *     backend gauges are always there): off only to measure what counting costs
 */
public record ObservabilitySettings(
    AccessLog accessLog, Map<String, Boolean> listenerAccessLog, boolean applicationJson, boolean requestMetrics) {

  public enum Format { TEXT, JSON }

  private static final java.util.List<String> ACCESS_LOG_KEYS =
      java.util.List.of("enabled", "path", "format", "queue-size", "max-uri-length");

  /**
   * @param path the file, relative to the working directory unless absolute
   * @param queueSize lines that may wait for the disk, per thread that serves requests (each has a ring of room for this
   *     many lines of ~128 bytes); more are dropped and counted, never waited for
   * @param maxUriLength the path and query are cut to this many characters in a line
   */
  public record AccessLog(boolean enabled, Path path, Format format, int queueSize, int maxUriLength) {}

  public ObservabilitySettings {
    listenerAccessLog = Map.copyOf(listenerAccessLog);
  }

  /** Whether the listener of this name writes access-log lines. */
  public boolean accessLogOn(String listener) {
    return accessLog.enabled() && listenerAccessLog.getOrDefault(listener, true);
  }

  public static ObservabilitySettings parse(Config root) {
    ConfigReader fulcrum = new ConfigReader(root, "").child("fulcrum");
    ConfigReader log = fulcrum.child("access-log");
    for (String key : log.config().root().keySet()) {
      if (!ACCESS_LOG_KEYS.contains(key)) {
        throw log.error(key, "unknown setting (known: " + String.join(", ", ACCESS_LOG_KEYS) + ")");
      }
    }
    boolean enabled = log.bool("enabled");
    String pathText = log.string("path").trim();
    if (pathText.isEmpty()) throw log.error("path", "must name a file");
    Path path = Path.of(pathText);
    Format format = switch (log.string("format").trim()) {
      case "text" -> Format.TEXT;
      case "json" -> Format.JSON;
      default -> throw log.error("format", "must be text or json, got '" + log.string("format") + "'");
    };
    int queue = log.intIn("queue-size", 16, 1 << 20);
    int maxUri = log.intIn("max-uri-length", 16, 65536);
    Map<String, Boolean> perListener = new TreeMap<>();
    for (String kind : new String[] {"http", "tcp"}) {
      ConfigReader listeners = fulcrum.child("listeners").child(kind);
      for (String name : listeners.config().root().keySet()) {
        ConfigReader listener = listeners.child(com.typesafe.config.ConfigUtil.joinPath(name));
        if (!listener.has("access-log")) continue;
        ConfigReader own = listener.child("access-log");
        for (String key : own.config().root().keySet()) {
          if (!key.equals("enabled")) throw own.error(key, "unknown setting (a listener may only set access-log.enabled)");
        }
        perListener.put(name, own.bool("enabled"));
      }
    }
    String appFormat = fulcrum.child("logging").string("format").trim();
    if (!appFormat.equals("text") && !appFormat.equals("json")) {
      throw fulcrum.child("logging").error("format", "must be text or json, got '" + appFormat + "'");
    }
    boolean metrics = fulcrum.child("metrics").bool("enabled");
    return new ObservabilitySettings(
        new AccessLog(enabled, path, format, queue, maxUri), perListener, appFormat.equals("json"), metrics);
  }

  /**
   * Fails when the access log is on and its directory cannot be created or written: a log that silently goes nowhere
   * is found out only when it is needed.
   */
  public void checkWritable() {
    if (!accessLog.enabled()) return;
    Path file = accessLog.path().toAbsolutePath();
    Path dir = file.getParent();
    try {
      Files.createDirectories(dir);
    } catch (java.nio.file.FileAlreadyExistsException e) {
      throw new SettingsException("fulcrum.access-log.path: cannot create the directory " + dir
          + " (a file of that name is in the way: " + e.getFile() + ")");
    } catch (IOException | SecurityException e) {
      throw new SettingsException("fulcrum.access-log.path: cannot create the directory " + dir + " (" + e.getMessage() + ")");
    }
    if (Files.exists(file) ? !Files.isWritable(file) : !Files.isWritable(dir)) {
      throw new SettingsException("fulcrum.access-log.path: " + (Files.exists(file) ? file : dir) + " is not writable");
    }
  }
}
