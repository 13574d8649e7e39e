package dev.fulcrum.testing;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.List;
import java.util.Optional;

/**
 * The PostgreSQL test database, when FULCRUM_TEST_PG_URL is set (system property or environment; CI sets it), with
 * FULCRUM_TEST_PG_USER and FULCRUM_TEST_PG_PASSWORD (default fulcrum/fulcrum). It outlives the tests.
 */
public final class PostgresTestDb {
  private PostgresTestDb() {}

  public static Optional<String> url() {
    return setting("FULCRUM_TEST_PG_URL");
  }

  public static String user() {
    return setting("FULCRUM_TEST_PG_USER").orElse("fulcrum");
  }

  public static String password() {
    return setting("FULCRUM_TEST_PG_PASSWORD").orElse("fulcrum");
  }

  /**
   * Deletes Cluster Sharding's own records (the coordinators' remembered shards, each shard's remembered entities):
   * called before a test starts its cluster, when none runs. Left behind, every later cluster on this database would
   * start again, on each start and each failover, the entities of every earlier test's pools (hundreds of shards
   * after a few runs, each read from the journal), and its failover would be timed with that load on it.
   */
  public static void forgetShardLocations() throws SQLException {
    if (url().isEmpty()) return;
    try (Connection db = DriverManager.getConnection(url().get(), user(), password());
        PreparedStatement events = db.prepareStatement("DELETE FROM event_journal WHERE persistence_id LIKE '/sharding/%'");
        PreparedStatement snapshots = db.prepareStatement("DELETE FROM snapshot WHERE persistence_id LIKE '/sharding/%'")) {
      if (!db.getMetaData().getTables(null, null, "event_journal", null).next()) return; // no journal yet
      events.executeUpdate();
      snapshots.executeUpdate();
    }
  }

  /** Deletes a pool's events and snapshots: left behind, every later node on this database would start the pool again. */
  public static void forgetPool(String pool) throws SQLException {
    forget("Pool|" + pool);
  }

  /** Deletes a listener's route table from the shared test journal. */
  public static void forgetRouteTable(String listener) throws SQLException {
    forget("RouteTable|" + listener);
  }

  /**
   * A test cluster's node's fulcrum.node-name ({@code n} from 0), named by the test: named by its cluster port, it would
   * start the listeners of an earlier test's node that had the same port rather than its own config's.
   */
  public static String nodeName(String test, int n) {
    return test + "-node-" + (n + 1);
  }

  /**
   * Deletes what a test cluster journaled: its pools, its HTTP listeners' route tables and the listener journals of its
   * nodes (named by {@link #nodeName}); called before it starts (a run killed before its clean-up leaves nothing for
   * the next) and after.
   */
  public static void forgetCluster(String test, int nodes, List<String> pools, List<String> httpListeners) throws SQLException {
    for (String pool : pools) forgetPool(pool);
    for (String listener : httpListeners) forgetRouteTable(listener);
    for (int n = 0; n < nodes; n++) forget("NodeListeners|" + nodeName(test, n));
  }

  private static void forget(String persistenceId) throws SQLException {
    if (url().isEmpty()) return;
    try (Connection db = DriverManager.getConnection(url().get(), user(), password());
        PreparedStatement events = db.prepareStatement("DELETE FROM event_journal WHERE persistence_id = ?");
        PreparedStatement snapshots = db.prepareStatement("DELETE FROM snapshot WHERE persistence_id = ?")) {
      if (!db.getMetaData().getTables(null, null, "event_journal", null).next()) return; // no journal yet: nothing to forget
      for (PreparedStatement delete : List.of(events, snapshots)) {
        delete.setString(1, persistenceId);
        delete.executeUpdate();
      }
    }
  }

  private static Optional<String> setting(String name) {
    String value = System.getProperty(name, System.getenv(name));
    return value == null || value.isBlank() ? Optional.empty() : Optional.of(value);
  }
}
