package dev.fulcrum.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.fulcrum.Fulcrum;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** fulcrum.journal and fulcrum.admin: the documented defaults, and mistakes named by their config path. */
class ControlSettingsTest {

  private static com.typesafe.config.Config config(String hocon) {
    return Fulcrum.withDefaults(ConfigFactory.parseString(hocon));
  }

  @Test
  void defaults() {
    JournalSettings journal = JournalSettings.parse(config(""));
    assertEquals(100, journal.snapshotEvery());
    assertEquals(JournalSettings.Bootstrap.JOURNAL, journal.bootstrap());
    assertEquals("jdbc-read-journal", journal.readJournal());
    AdminSettings admin = AdminSettings.parse(config(""));
    assertTrue(admin.enabled());
    assertEquals(HostPort.parse("127.0.0.1:8081", false), admin.bind());
    assertEquals(Optional.empty(), admin.token());
    assertEquals(Duration.ofSeconds(4), admin.askTimeout());
    assertEquals(Duration.ofSeconds(2), journal.writeTimeout(), "the journal circuit breaker's call-timeout in fulcrum-pekko.conf");
    assertEquals(Duration.ofSeconds(2), journal.readTimeout());
    assertEquals("jdbc:h2:file:./data/fulcrum",
        config("").getString("pekko-persistence-jdbc.shared-databases.fulcrum.db.url"));
  }

  @Test
  void overrides() {
    assertEquals(JournalSettings.Bootstrap.CONFIG, JournalSettings.parse(config("fulcrum.journal.bootstrap = config")).bootstrap());
    assertEquals(Optional.of("t0k"), AdminSettings.parse(config("fulcrum.admin.token = \" t0k \"")).token());
  }

  /** HOCON's booleans (true/false, on/off, yes/no) with one text for a mistake, whichever parser reads the setting. */
  @Test
  void booleansHaveOneRuleAndOneTextEverywhere() {
    assertTrue(AdminSettings.parse(config("fulcrum.admin.enabled = yes")).enabled());
    assertEquals(false, AdminSettings.parse(config("fulcrum.admin.enabled = no")).enabled());
    assertEquals(false, ObservabilitySettings.parse(config("fulcrum.metrics.enabled = false")).requestMetrics());
    assertTrue(ObservabilitySettings.parse(config("fulcrum.metrics.enabled = yes")).requestMetrics());
    String listener = "fulcrum.pools.web.backends = [\"127.0.0.1:9\"]\n"
        + "fulcrum.listeners.http.main { bind = \"127.0.0.1:0\", routes = [{pool = web}], http2.cleartext = %s }";
    assertTrue(SettingsParser.parse(dev.fulcrum.testing.TestConfig.resolved(listener.formatted("yes"))).http().listeners().get(0)
        .http2().cleartext());
    String text = ": must be true or false (or on/off, yes/no), got the string \"maybe\"";
    assertEquals("fulcrum.admin.enabled" + text, assertThrows(SettingsException.class,
        () -> AdminSettings.parse(config("fulcrum.admin.enabled = maybe"))).getMessage().replaceAll(" \\([^()]*: \\d+\\)$", ""));
    assertEquals("fulcrum.metrics.enabled" + text, assertThrows(SettingsException.class,
        () -> ObservabilitySettings.parse(config("fulcrum.metrics.enabled = maybe"))).getMessage().replaceAll(" \\([^()]*: \\d+\\)$", ""));
    assertEquals("fulcrum.listeners.http.main.http2.cleartext" + text, assertThrows(SettingsException.class,
        () -> SettingsParser.parse(dev.fulcrum.testing.TestConfig.resolved(listener.formatted("maybe")))).getMessage()
        .replaceAll(" \\([^()]*: \\d+\\)$", ""));
  }

  @Test
  void mistakesNameThePath() {
    SettingsException bootstrap = assertThrows(SettingsException.class,
        () -> JournalSettings.parse(config("fulcrum.journal.bootstrap = sometimes")));
    assertTrue(bootstrap.getMessage().startsWith("fulcrum.journal.bootstrap: 'sometimes'"), bootstrap.getMessage());
    SettingsException snapshots = assertThrows(SettingsException.class,
        () -> JournalSettings.parse(config("fulcrum.journal.snapshot-every = 0")));
    assertTrue(snapshots.getMessage().startsWith("fulcrum.journal.snapshot-every"), snapshots.getMessage());
    SettingsException bind = assertThrows(SettingsException.class,
        () -> AdminSettings.parse(config("fulcrum.admin.bind = \"localhost\"")));
    assertTrue(bind.getMessage().startsWith("fulcrum.admin.bind"), bind.getMessage());
    SettingsException timeout = assertThrows(SettingsException.class,
        () -> AdminSettings.parse(config("fulcrum.admin.ask-timeout = 0s")));
    assertTrue(timeout.getMessage().startsWith("fulcrum.admin.ask-timeout"), timeout.getMessage());
  }
}
