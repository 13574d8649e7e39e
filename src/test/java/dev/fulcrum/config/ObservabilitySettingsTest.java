package dev.fulcrum.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.fulcrum.Fulcrum;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The access-log, logging and metrics settings: defaults, per-listener switches, and mistakes named by their path. */
class ObservabilitySettingsTest {
  private static ObservabilitySettings parse(String hocon) {
    return ObservabilitySettings.parse(Fulcrum.withDefaults(ConfigFactory.parseString(hocon)));
  }

  @Test
  void defaults() {
    ObservabilitySettings s = parse("");
    assertTrue(s.accessLog().enabled());
    assertEquals(Path.of("logs/access.log"), s.accessLog().path());
    assertEquals(ObservabilitySettings.Format.TEXT, s.accessLog().format());
    assertEquals(8192, s.accessLog().queueSize());
    assertFalse(s.applicationJson());
    assertTrue(s.requestMetrics());
  }

  @Test
  void aListenerSwitchesItsLinesOff() {
    ObservabilitySettings s = parse("""
        fulcrum.listeners.http.a { access-log.enabled = off }
        fulcrum.listeners.tcp.b { bind = "127.0.0.1:0" }
        fulcrum.access-log.format = json
        fulcrum.metrics.enabled = off
        """);
    assertFalse(s.accessLogOn("a"));
    assertTrue(s.accessLogOn("b"));
    assertEquals(ObservabilitySettings.Format.JSON, s.accessLog().format());
    assertFalse(s.requestMetrics());
    assertFalse(parse("fulcrum.access-log.enabled = off").accessLogOn("b"));
  }

  @Test
  void mistakesNameTheirPath() {
    assertMessage("fulcrum.access-log.format: must be text or json, got 'xml'", "fulcrum.access-log.format = xml");
    assertMessage("fulcrum.listeners.http.a.access-log.path: unknown setting", "fulcrum.listeners.http.a.access-log.path = x");
    assertMessage("fulcrum.access-log.queue-size: 1 is outside 16-1048576", "fulcrum.access-log.queue-size = 1");
    assertMessage("fulcrum.access-log.enabled: must be true or false (or on/off, yes/no), got the string \"maybe\"",
        "fulcrum.access-log.enabled = maybe");
    assertMessage("fulcrum.access-log.fields: unknown setting (known: enabled, path, format", "fulcrum.access-log.fields = [a]");
    assertMessage("fulcrum.logging.format: must be text or json", "fulcrum.logging.format = yaml");
  }

  private static void assertMessage(String expected, String hocon) {
    SettingsException e = assertThrows(SettingsException.class, () -> parse(hocon));
    assertTrue(e.getMessage().startsWith(expected), e.getMessage());
  }
}
