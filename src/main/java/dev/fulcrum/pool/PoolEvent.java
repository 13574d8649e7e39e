package dev.fulcrum.pool;

import dev.fulcrum.CborSerializable;
import dev.fulcrum.config.HealthCheckSettings;
import dev.fulcrum.config.HostPort;
import dev.fulcrum.config.PoolSettings;
import dev.fulcrum.routing.StrategyKind;
import java.time.Instant;

/**
 * What happened to a pool, in the journal forever: each event says when it happened and where the change came from
 * ({@code origin}: "config", "admin-api 127.0.0.1", "java-api", ...). Renaming or removing a field breaks recovery of
 * existing journals; add fields only with a default.
 */
public sealed interface PoolEvent extends CborSerializable {
  Instant timestamp();

  String origin();

  record PoolCreated(PoolSettings pool, Instant timestamp, String origin) implements PoolEvent {}

  record PoolDeleted(Instant timestamp, String origin) implements PoolEvent {}

  record BackendAdded(HostPort address, int weight, Instant timestamp, String origin) implements PoolEvent {}

  record BackendRemoved(HostPort address, Instant timestamp, String origin) implements PoolEvent {}

  record WeightChanged(HostPort address, int weight, Instant timestamp, String origin) implements PoolEvent {}

  record DrainStarted(HostPort address, Instant timestamp, String origin) implements PoolEvent {}

  record DrainStopped(HostPort address, Instant timestamp, String origin) implements PoolEvent {}

  record StrategyChanged(StrategyKind strategy, Instant timestamp, String origin) implements PoolEvent {}

  record HealthCheckChanged(HealthCheckSettings healthCheck, Instant timestamp, String origin) implements PoolEvent {}

  /** The name used in the admin API's history: {@code BackendAdded} reads {@code backend-added}. */
  static String typeName(PoolEvent event) {
    return event.getClass().getSimpleName().replaceAll("([a-z])([A-Z])", "$1-$2").toLowerCase(java.util.Locale.ROOT);
  }
}
