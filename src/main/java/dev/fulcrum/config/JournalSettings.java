package dev.fulcrum.config;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * How pools are kept in the journal ({@code fulcrum.journal}); the database itself is configured in
 * {@code pekko-persistence-jdbc.shared-databases.fulcrum}.
 *
 * @param defaultHealthCheck {@code fulcrum.health-check}, given to pools created without health-check settings
 * @param readTimeout how long a history read waits for the journal before it answers that the journal cannot be read
 * @param writeTimeout the journal plugin's {@code circuit-breaker.call-timeout}: the longest a write can take before
 *     the entity hears it failed, so a caller that waits this long past its deadline hears the outcome of any change
 */
public record JournalSettings(
    int snapshotEvery,
    Bootstrap bootstrap,
    String readJournal,
    HealthCheckSettings defaultHealthCheck,
    Duration readTimeout,
    Duration writeTimeout) {

  public JournalSettings(int snapshotEvery, Bootstrap bootstrap, String readJournal, HealthCheckSettings defaultHealthCheck) {
    this(snapshotEvery, bootstrap, readJournal, defaultHealthCheck, Duration.ofSeconds(2), Duration.ofSeconds(10));
  }

  /** What happens at start-up to a configured pool that already has a journal. */
  public enum Bootstrap {
    /** The journal wins; differences from the config are logged in one warning. */
    JOURNAL,
    /** The config wins; differences are applied as events with origin "config". */
    CONFIG
  }

  public static JournalSettings parse(Config root) {
    ConfigReader fulcrum = new ConfigReader(root, "").child("fulcrum");
    ConfigReader journal = fulcrum.child("journal");
    Bootstrap bootstrap =
        switch (journal.string("bootstrap")) {
          case "journal" -> Bootstrap.JOURNAL;
          case "config" -> Bootstrap.CONFIG;
          default -> throw journal.error("bootstrap", "'" + journal.string("bootstrap") + "' is not a bootstrap mode (journal, config)");
        };
    return new JournalSettings(
        journal.intIn("snapshot-every", 1, 1_000_000),
        bootstrap,
        journal.string("read-journal"),
        SettingsParser.healthCheck(fulcrum.child("health-check")),
        journal.positiveDuration("read-timeout"),
        writeTimeout(root));
  }

  private static Duration writeTimeout(Config root) {
    String plugin = root.hasPath("pekko.persistence.journal.plugin") ? root.getString("pekko.persistence.journal.plugin") : "";
    String path = plugin + ".circuit-breaker";
    ConfigReader breaker = !plugin.isEmpty() && root.hasPath(path + ".call-timeout")
        ? new ConfigReader(root, "").child(plugin).child("circuit-breaker")
        : new ConfigReader(root, "").child("pekko").child("persistence").child("journal-plugin-fallback").child("circuit-breaker");
    return breaker.positiveDuration("call-timeout");
  }
}
