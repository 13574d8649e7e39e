package dev.fulcrum.config;

/** One backend of a pool as configured; weight 0 keeps it defined but never picked. */
public record BackendSettings(HostPort address, int weight) {
  public static final int MAX_WEIGHT = 1000;
}
