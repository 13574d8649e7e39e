package dev.fulcrum.routes;

import dev.fulcrum.http.proxy.RouteTableRef;
import dev.fulcrum.http.proxy.Routes;
import dev.fulcrum.routing.RoutingTables;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The route tables as this node routes by them: the latest state of each listener's table (from its entity, or
 * replicated) and the {@link RouteTableRef} its listener reads on every request. A newer state is compiled here, off
 * the data plane, and swapped in; an older or equal one is ignored. It outlives cluster incarnations, like the node's
 * pools. Thread-safe (states arrive from the replicators of successive incarnations and from start-up).
 */
public final class LocalRoutes {
  private static final Logger log = LoggerFactory.getLogger(LocalRoutes.class);

  private final RoutingTables tables;
  private final Map<String, RouteTableState> states = new TreeMap<>();
  private final Map<String, RouteTableRef> refs = new TreeMap<>();
  private final List<Waiter> waiting = new ArrayList<>();
  private final List<Consumer<RuntimeChange>> sinks = new java.util.concurrent.CopyOnWriteArrayList<>();

  private record Waiter(String listener, long version, CompletableFuture<RouteTableState> done) {}

  public LocalRoutes(RoutingTables tables) {
    this.tables = tables;
  }

  /**
   * The one sink of this node's runtime notices: every route table this node starts routing by, and every listener
   * added, draining or removed ({@link #notice}), are told to each sink added here (the node's event hub is one); a sink
   * runs on the caller's thread and must not block.
   */
  public void onChange(Consumer<RuntimeChange> sink) {
    sinks.add(sink);
  }

  /** Tells the sink; a failing sink is logged, never propagated into the control plane. */
  public void notice(RuntimeChange change) {
    for (Consumer<RuntimeChange> sink : sinks) {
      try {
        sink.accept(change);
      } catch (RuntimeException e) {
        log.warn("a runtime-change subscriber failed on {}: {}", change, e.toString());
      }
    }
  }

  /** The reference a listener reads; before its table is known it matches nothing (404). */
  public synchronized RouteTableRef ref(String listener) {
    return refs.computeIfAbsent(listener, l -> new RouteTableRef(l, new Routes(List.of(), tables)));
  }

  /** Takes {@code state} if it is newer than this node's: compiles it and swaps it into the listener's reference. */
  public void offer(RouteTableState state) {
    RouteTableState before;
    List<Waiter> released = new ArrayList<>();
    if (state.version() == 0) return; // a table that was never set: nothing to route by, nothing to tell
    synchronized (this) {
      before = states.get(state.listener());
      if (before != null && before.version() >= state.version()) return;
      states.put(state.listener(), state);
      if (state.exists()) ref(state.listener()).set(new Routes(state.routes(), tables), state.version());
      waiting.removeIf(w -> {
        if (!w.listener().equals(state.listener()) || w.version() > state.version()) return false;
        released.add(w);
        return true;
      });
    }
    log.debug("route table {} at version {} ({} routes)", state.listener(), state.version(), state.routes().size());
    notice(new RuntimeChange.RouteTableChanged(state.listener(), before == null ? 0 : before.version(), state));
    released.forEach(w -> w.done().complete(state));
  }

  public synchronized Optional<RouteTableState> state(String listener) {
    return Optional.ofNullable(states.get(listener));
  }

  public synchronized Map<String, RouteTableState> states() {
    return Map.copyOf(states);
  }

  /** Completes once this node routes by {@code version} or newer of the listener's table, or fails after {@code timeout}. */
  public synchronized CompletionStage<RouteTableState> awaitVersion(String listener, long version, java.time.Duration timeout) {
    RouteTableState known = states.get(listener);
    if (known != null && known.version() >= version) return CompletableFuture.completedFuture(known);
    CompletableFuture<RouteTableState> done = new CompletableFuture<>();
    Waiter waiter = new Waiter(listener, version, done);
    waiting.add(waiter);
    done.orTimeout(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS).whenComplete((s, failure) -> {
      synchronized (this) {
        waiting.remove(waiter);
      }
    });
    return done;
  }
}
