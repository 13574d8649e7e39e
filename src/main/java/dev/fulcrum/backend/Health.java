package dev.fulcrum.backend;

/** A backend's health as seen from this node. UNKNOWN (not checked yet) is routed to, like HAProxy's initial state. */
public enum Health {
  UNKNOWN,
  UP,
  DOWN;

  public String label() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
