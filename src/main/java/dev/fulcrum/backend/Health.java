package dev.fulcrum.backend;

/**
 * A backend's health as seen from this node. UNKNOWN (not checked yet) is routed to, like HAProxy's initial state.
 * EJECTED is up or unknown to its checks, but out of routing for a while for failing requests (outlier detection).
 */
public enum Health {
  UNKNOWN,
  UP,
  DOWN,
  EJECTED;

  public String label() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
