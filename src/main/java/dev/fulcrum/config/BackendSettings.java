package dev.fulcrum.config;

/**
 * One backend of a pool; weight 0 keeps it defined but never picked. A {@link Admin#DRAINING} backend gets no new
 * connections or requests while the ones it has finish.
 */
public record BackendSettings(HostPort address, int weight, Admin admin) {
  public static final int MAX_WEIGHT = 1000;

  /** The operator's intent for a backend, as opposed to its health, which each node observes. */
  public enum Admin {
    ACTIVE,
    DRAINING
  }

  public BackendSettings {
    if (admin == null) admin = Admin.ACTIVE;
  }

  public BackendSettings(HostPort address, int weight) {
    this(address, weight, Admin.ACTIVE);
  }
}
