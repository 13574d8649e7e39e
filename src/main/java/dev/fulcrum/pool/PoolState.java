package dev.fulcrum.pool;

import dev.fulcrum.CborSerializable;
import dev.fulcrum.config.BackendSettings;
import dev.fulcrum.config.HealthCheckSettings;
import dev.fulcrum.config.HostPort;
import dev.fulcrum.config.PoolSettings;
import dev.fulcrum.routing.StrategyKind;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * The state of one pool's entity: its definition while the pool exists (empty before it is created and after it is
 * deleted) and its version, the sequence number of the last event applied. Versions only grow, also across a delete
 * and a re-create, so a newer state can always be told from an older one.
 *
 * <p>{@code recentKeys} are the idempotency keys of the last {@value #KEPT_KEYS} changes that came with one, oldest
 * first, each with the version its change produced: rebuilt from the events on recovery, so a retried request is
 * recognised wherever the entity runs next. Snapshots taken before keys existed read back with none.
 */
public record PoolState(
    String name, long version, Optional<PoolSettings> definition, List<AppliedKey> recentKeys, List<Discovered> discovered)
    implements CborSerializable {

  /** How many idempotency keys a pool remembers: a retry is recognised while its key is among the last this many. */
  public static final int KEPT_KEYS = 100;

  /** The idempotency key of a change and the version that change produced. */
  public record AppliedKey(String key, long version) implements CborSerializable {}

  /**
   * A backend that DNS discovery added ({@code source}: the name it came from, as in its event's origin
   * {@code dns <source>}), until it is removed: what lets a pool's DNS follower, wherever it runs next, remove the
   * backends of a name whose records went away and never touch the others. Rebuilt from the events on recovery;
   * snapshots taken before discovery existed read back with none.
   */
  public record Discovered(HostPort address, String source) implements CborSerializable {}

  public PoolState {
    recentKeys = recentKeys == null ? List.of() : List.copyOf(recentKeys);
    discovered = discovered == null ? List.of() : List.copyOf(discovered);
  }

  public PoolState(String name, long version, Optional<PoolSettings> definition, List<AppliedKey> recentKeys) {
    this(name, version, definition, recentKeys, List.of());
  }

  public PoolState(String name, long version, Optional<PoolSettings> definition) {
    this(name, version, definition, List.of());
  }

  /** The backends DNS discovery added, by address, with the name each came from. */
  public java.util.Map<HostPort, String> discoveredBackends() {
    java.util.Map<HostPort, String> map = new java.util.LinkedHashMap<>();
    discovered.forEach(d -> map.put(d.address(), d.source()));
    return map;
  }

  public static PoolState empty(String name) {
    return new PoolState(name, 0, Optional.empty());
  }

  /** The version produced by the change that came with {@code key}, if that change is among the recent ones. */
  public Optional<Long> appliedAt(String key) {
    return recentKeys.stream().filter(k -> k.key().equals(key)).map(AppliedKey::version).findFirst();
  }

  public boolean exists() {
    return definition.isPresent();
  }

  /** The definition; call only when {@link #exists()}. */
  public PoolSettings pool() {
    return definition.orElseThrow(() -> new IllegalStateException("pool '" + name + "' does not exist"));
  }

  public Optional<BackendSettings> backend(HostPort address) {
    return definition.flatMap(p -> p.backends().stream().filter(b -> b.address().equals(address)).findFirst());
  }

  PoolState apply(PoolEvent event) {
    PoolState changed = change(event);
    List<Discovered> found = discoveredAfter(event);
    if (event.idempotencyKey() == null) return new PoolState(name, changed.version(), changed.definition(), recentKeys, found);
    List<AppliedKey> keys = new ArrayList<>(recentKeys);
    keys.add(new AppliedKey(event.idempotencyKey(), changed.version()));
    if (keys.size() > KEPT_KEYS) keys.subList(0, keys.size() - KEPT_KEYS).clear();
    return new PoolState(name, changed.version(), changed.definition(), keys, found);
  }

  private List<Discovered> discoveredAfter(PoolEvent event) {
    if (event instanceof PoolEvent.PoolCreated || event instanceof PoolEvent.PoolDeleted) return List.of();
    if (event instanceof PoolEvent.BackendAdded e) {
      return dev.fulcrum.discovery.RecordDiff.sourceOf(e.origin()).map(source -> {
        List<Discovered> found = new ArrayList<>(discovered);
        found.add(new Discovered(e.address(), source));
        return found;
      }).orElse(discovered);
    }
    if (event instanceof PoolEvent.BackendRemoved e) {
      return discovered.stream().filter(d -> !d.address().equals(e.address())).toList();
    }
    return discovered;
  }

  private PoolState change(PoolEvent event) {
    long next = version + 1;
    if (event instanceof PoolEvent.PoolCreated e) return new PoolState(name, next, Optional.of(e.pool()), recentKeys);
    if (event instanceof PoolEvent.PoolDeleted) return new PoolState(name, next, Optional.empty(), recentKeys);
    PoolSettings p = pool();
    if (event instanceof PoolEvent.BackendAdded e) {
      List<BackendSettings> backends = new ArrayList<>(p.backends());
      backends.add(new BackendSettings(e.address(), e.weight()));
      return changed(next, p.strategy(), backends, p.healthCheck());
    }
    if (event instanceof PoolEvent.TlsChanged e) {
      return new PoolState(name, next, Optional.of(definition(p.strategy(), p.backends(), p.healthCheck()).withTls(e.tls())), recentKeys);
    }
    if (event instanceof PoolEvent.ProtocolChanged e) {
      return new PoolState(name, next, Optional.of(definition(p.strategy(), p.backends(), p.healthCheck()).withProtocol(e.protocol())), recentKeys);
    }
    if (event instanceof PoolEvent.BackendRemoved e) {
      return changed(next, p.strategy(), p.backends().stream().filter(b -> !b.address().equals(e.address())).toList(), p.healthCheck());
    }
    if (event instanceof PoolEvent.WeightChanged e) {
      return withBackend(next, e.address(), b -> new BackendSettings(b.address(), e.weight(), b.admin()));
    }
    if (event instanceof PoolEvent.DrainStarted e) {
      return withBackend(next, e.address(), b -> new BackendSettings(b.address(), b.weight(), BackendSettings.Admin.DRAINING));
    }
    if (event instanceof PoolEvent.DrainStopped e) {
      return withBackend(next, e.address(), b -> new BackendSettings(b.address(), b.weight(), BackendSettings.Admin.ACTIVE));
    }
    if (event instanceof PoolEvent.StrategyChanged e) return changed(next, e.strategy(), p.backends(), p.healthCheck());
    if (event instanceof PoolEvent.HealthCheckChanged e) return changed(next, p.strategy(), p.backends(), e.healthCheck());
    throw new IllegalArgumentException("unknown event " + event);
  }

  private PoolState withBackend(long next, HostPort address, UnaryOperator<BackendSettings> change) {
    PoolSettings p = pool();
    return changed(next, p.strategy(), p.backends().stream().map(b -> b.address().equals(address) ? change.apply(b) : b).toList(), p.healthCheck());
  }

  private PoolState changed(long next, StrategyKind strategy, List<BackendSettings> backends, HealthCheckSettings healthCheck) {
    return new PoolState(name, next, Optional.of(definition(strategy, backends, healthCheck)), recentKeys);
  }

  /** The definition with these parts changed; its TLS to the backends and protocol stay. */
  private PoolSettings definition(StrategyKind strategy, List<BackendSettings> backends, HealthCheckSettings healthCheck) {
    return new PoolSettings(name, strategy, backends, healthCheck).withTls(pool().tls()).withProtocol(pool().protocol());
  }
}
