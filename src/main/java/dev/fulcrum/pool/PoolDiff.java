package dev.fulcrum.pool;

import dev.fulcrum.config.BackendSettings;
import dev.fulcrum.config.HostPort;
import dev.fulcrum.config.PoolSettings;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * How a pool's journaled state differs from its config: the events that would turn one into the other, each with
 * the sentence that explains it in the start-up warning. Backend order is not compared.
 */
record PoolDiff(List<PoolEvent> events, List<String> descriptions) {
  static final String ORIGIN = "config";

  static PoolDiff between(PoolState journal, PoolSettings config, Instant now) {
    return between(journal, config, false, now);
  }

  /** {@code followsNames}: the pool has {@code discovery = dns} in this node's config. */
  static PoolDiff between(PoolState journal, PoolSettings config, boolean followsNames, Instant now) {
    List<PoolEvent> events = new ArrayList<>();
    List<String> why = new ArrayList<>();
    if (!journal.exists()) {
      events.add(new PoolEvent.PoolCreated(config, now, ORIGIN));
      why.add("deleted in the journal (version " + journal.version() + ") but defined in config");
      return new PoolDiff(events, why);
    }
    PoolSettings current = journal.pool();
    if (current.strategy() != config.strategy()) {
      events.add(new PoolEvent.StrategyChanged(config.strategy(), now, ORIGIN));
      why.add("strategy is " + current.strategy().configName() + " in the journal, " + config.strategy().configName() + " in config");
    }
    if (!current.healthCheck().equals(config.healthCheck())) {
      events.add(new PoolEvent.HealthCheckChanged(config.healthCheck(), now, ORIGIN));
      why.add("health-check is " + current.healthCheck() + " in the journal, " + config.healthCheck() + " in config");
    }
    if (!current.tls().equals(config.tls())) {
      events.add(new PoolEvent.TlsChanged(config.tls(), now, ORIGIN));
      why.add("tls is " + describe(current) + " in the journal, " + describe(config) + " in config");
    }
    if (!current.protocol().equals(config.protocol())) {
      events.add(new PoolEvent.ProtocolChanged(config.protocol(), now, ORIGIN));
      why.add("protocol is " + describe(current.protocol()) + " in the journal, " + describe(config.protocol()) + " in config");
    }
    Map<HostPort, BackendSettings> wanted = byAddress(config.backends());
    Map<HostPort, BackendSettings> have = byAddress(current.backends());
    for (BackendSettings b : current.backends()) {
      // a backend DNS found is the config's too, as long as the pool follows names (see PoolEntity.Bootstrap)
      if (!wanted.containsKey(b.address()) && !(followsNames && journal.discoveredBackends().containsKey(b.address()))) {
        events.add(new PoolEvent.BackendRemoved(b.address(), now, ORIGIN));
        why.add("backend " + b.address() + " is in the journal, not in config");
      }
    }
    for (BackendSettings b : config.backends()) {
      BackendSettings mine = have.get(b.address());
      if (mine == null) {
        events.add(new PoolEvent.BackendAdded(b.address(), b.weight(), now, ORIGIN));
        why.add("backend " + b.address() + " is in config, not in the journal");
        continue;
      }
      if (mine.weight() != b.weight()) {
        events.add(new PoolEvent.WeightChanged(b.address(), b.weight(), now, ORIGIN));
        why.add("backend " + b.address() + " has weight " + mine.weight() + " in the journal, " + b.weight() + " in config");
      }
      if (mine.admin() != b.admin()) {
        events.add(b.admin() == BackendSettings.Admin.DRAINING
            ? new PoolEvent.DrainStarted(b.address(), now, ORIGIN)
            : new PoolEvent.DrainStopped(b.address(), now, ORIGIN));
        why.add("backend " + b.address() + " is " + label(mine.admin()) + " in the journal, " + label(b.admin()) + " in config");
      }
    }
    return new PoolDiff(events, why);
  }

  private static String describe(PoolSettings pool) {
    return pool.tls().map(Object::toString).orElse("off");
  }

  private static String describe(dev.fulcrum.config.BackendProtocol protocol) {
    return protocol.kind().label + (protocol.http2() ? " (max-concurrent-streams " + protocol.maxStreams() + ")" : "");
  }

  private static Map<HostPort, BackendSettings> byAddress(List<BackendSettings> backends) {
    return backends.stream().collect(Collectors.toMap(BackendSettings::address, Function.identity()));
  }

  private static String label(BackendSettings.Admin admin) {
    return admin.name().toLowerCase(java.util.Locale.ROOT);
  }
}
