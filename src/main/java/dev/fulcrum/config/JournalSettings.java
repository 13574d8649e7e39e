package dev.fulcrum.config;

import com.typesafe.config.Config;

/**
 * How pools are kept in the journal ({@code fulcrum.journal}); the database itself is configured in
 * {@code pekko-persistence-jdbc.shared-databases.fulcrum}.
 *
 * @param defaultHealthCheck {@code fulcrum.health-check}, given to pools created without health-check settings
 */
public record JournalSettings(
    int snapshotEvery, Bootstrap bootstrap, String readJournal, HealthCheckSettings defaultHealthCheck) {

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
        SettingsParser.healthCheck(fulcrum.child("health-check")));
  }
}
