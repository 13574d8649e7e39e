package dev.fulcrum.pool;

import com.fasterxml.jackson.annotation.JsonInclude;
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
 *
 * <p>{@code idempotencyKey} is the key of the request that made the change, or null: the entity keeps the recent keys
 * in its state so that a retried request is recognised also after the entity restarted or moved to another node.
 * Events journaled before keys existed read back with null.
 */
public sealed interface PoolEvent extends CborSerializable {
  Instant timestamp();

  String origin();

  String idempotencyKey();

  record PoolCreated(PoolSettings pool, Instant timestamp, String origin, @JsonInclude(JsonInclude.Include.NON_NULL) String idempotencyKey) implements PoolEvent {
    public PoolCreated(PoolSettings pool, Instant timestamp, String origin) {
      this(pool, timestamp, origin, null);
    }
  }

  record PoolDeleted(Instant timestamp, String origin, @JsonInclude(JsonInclude.Include.NON_NULL) String idempotencyKey) implements PoolEvent {
    public PoolDeleted(Instant timestamp, String origin) {
      this(timestamp, origin, null);
    }
  }

  record BackendAdded(HostPort address, int weight, Instant timestamp, String origin, @JsonInclude(JsonInclude.Include.NON_NULL) String idempotencyKey) implements PoolEvent {
    public BackendAdded(HostPort address, int weight, Instant timestamp, String origin) {
      this(address, weight, timestamp, origin, null);
    }
  }

  record BackendRemoved(HostPort address, Instant timestamp, String origin, @JsonInclude(JsonInclude.Include.NON_NULL) String idempotencyKey) implements PoolEvent {
    public BackendRemoved(HostPort address, Instant timestamp, String origin) {
      this(address, timestamp, origin, null);
    }
  }

  record WeightChanged(HostPort address, int weight, Instant timestamp, String origin, @JsonInclude(JsonInclude.Include.NON_NULL) String idempotencyKey) implements PoolEvent {
    public WeightChanged(HostPort address, int weight, Instant timestamp, String origin) {
      this(address, weight, timestamp, origin, null);
    }
  }

  record DrainStarted(HostPort address, Instant timestamp, String origin, @JsonInclude(JsonInclude.Include.NON_NULL) String idempotencyKey) implements PoolEvent {
    public DrainStarted(HostPort address, Instant timestamp, String origin) {
      this(address, timestamp, origin, null);
    }
  }

  record DrainStopped(HostPort address, Instant timestamp, String origin, @JsonInclude(JsonInclude.Include.NON_NULL) String idempotencyKey) implements PoolEvent {
    public DrainStopped(HostPort address, Instant timestamp, String origin) {
      this(address, timestamp, origin, null);
    }
  }

  record StrategyChanged(StrategyKind strategy, Instant timestamp, String origin, @JsonInclude(JsonInclude.Include.NON_NULL) String idempotencyKey) implements PoolEvent {
    public StrategyChanged(StrategyKind strategy, Instant timestamp, String origin) {
      this(strategy, timestamp, origin, null);
    }
  }

  record HealthCheckChanged(HealthCheckSettings healthCheck, Instant timestamp, String origin, @JsonInclude(JsonInclude.Include.NON_NULL) String idempotencyKey) implements PoolEvent {
    public HealthCheckChanged(HealthCheckSettings healthCheck, Instant timestamp, String origin) {
      this(healthCheck, timestamp, origin, null);
    }
  }

  /** The pool's TLS to its backends is now {@code tls} (empty: plain connections). */
  record TlsChanged(java.util.Optional<dev.fulcrum.config.BackendTlsSettings> tls, Instant timestamp, String origin, @JsonInclude(JsonInclude.Include.NON_NULL) String idempotencyKey) implements PoolEvent {
    public TlsChanged {
      tls = tls == null ? java.util.Optional.empty() : tls;
    }

    public TlsChanged(java.util.Optional<dev.fulcrum.config.BackendTlsSettings> tls, Instant timestamp, String origin) {
      this(tls, timestamp, origin, null);
    }
  }

  /** The protocol spoken to the pool's backends is now {@code protocol}. */
  record ProtocolChanged(dev.fulcrum.config.BackendProtocol protocol, Instant timestamp, String origin, @JsonInclude(JsonInclude.Include.NON_NULL) String idempotencyKey) implements PoolEvent {
    public ProtocolChanged {
      protocol = protocol == null ? dev.fulcrum.config.BackendProtocol.HTTP_1_1 : protocol;
    }

    public ProtocolChanged(dev.fulcrum.config.BackendProtocol protocol, Instant timestamp, String origin) {
      this(protocol, timestamp, origin, null);
    }
  }

  /** The name used in the admin API's history: {@code BackendAdded} reads {@code backend-added}. */
  static String typeName(PoolEvent event) {
    return event.getClass().getSimpleName().replaceAll("([a-z])([A-Z])", "$1-$2").toLowerCase(java.util.Locale.ROOT);
  }
}
