package dev.fulcrum.pool;

import com.typesafe.config.Config;
import dev.fulcrum.StartupException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;

/** The database of the journal ({@code pekko-persistence-jdbc.shared-databases.fulcrum.db}). */
public final class JournalDatabase {
  private static final String PATH = "pekko-persistence-jdbc.shared-databases.fulcrum.db";

  private JournalDatabase() {}

  /**
   * Opens and closes one connection, so that a database that is down, unknown or locked by another node stops start-up
   * at once with the driver's reason; the journal's own connection pool would only time out, without saying why.
   */
  public static void checkReachable(Config config) {
    Config db = config.getConfig(PATH);
    String url = db.getString("url");
    try {
      Class.forName(db.getString("driver"));
      try (Connection ignored = DriverManager.getConnection(url, db.getString("user"), db.getString("password"))) {
        // reachable
      }
    } catch (SQLException e) {
      throw new StartupException("cannot open the journal database " + url + " (" + PATH + "): " + oneLine(e.getMessage()));
    } catch (ClassNotFoundException e) {
      throw new StartupException(PATH + ".driver: no JDBC driver " + e.getMessage() + " on the class path");
    }
  }

  private static String oneLine(String message) {
    return message == null ? "no reason given" : message.lines().map(String::strip).reduce((a, b) -> a + " " + b).orElse("");
  }
}
