package dev.fulcrum.events;

import dev.fulcrum.config.HttpRouteSettings;
import dev.fulcrum.pool.LocalPools;
import dev.fulcrum.pool.PoolState;
import dev.fulcrum.routes.LocalRoutes;
import dev.fulcrum.routes.RouteTableState;
import dev.fulcrum.routing.PoolRouter;
import dev.fulcrum.routing.PoolStatus;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;

/**
 * The node's current state as events, for a subscription that asks for a snapshot: each existing pool's version
 * ({@link FulcrumEvent.PoolChanged} of type "snapshot") followed by the health of each of its backends as this node's
 * router has it ({@link FulcrumEvent.BackendHealthChanged} with {@code from == to}), pools in name order, then each
 * route table's version. Read from the node's own actors by asks, never blocking; a router that does not answer in
 * time fails the snapshot (its subscriber is told in {@link FulcrumEvent.SnapshotEnd#problem}).
 */
public final class NodeSnapshot {
  private NodeSnapshot() {}

  public static Supplier<CompletionStage<List<FulcrumEvent>>> of(
      ActorSystem<?> system, ActorRef<LocalPools.Command> localPools, LocalRoutes routes, Duration timeout) {
    return () -> AskPattern.<LocalPools.Command, LocalPools.Pools>ask(localPools, LocalPools.GetPools::new, timeout, system.scheduler())
        .thenCompose(pools -> {
          Instant now = Instant.now();
          List<CompletableFuture<List<FulcrumEvent>>> perPool = new ArrayList<>();
          for (PoolState state : pools.existing()) {
            ActorRef<PoolRouter.Command> router = pools.routers().get(state.name());
            FulcrumEvent version = new FulcrumEvent.PoolChanged(state.name(), state.version(), FulcrumEvent.SNAPSHOT, "", null, 0, now);
            CompletionStage<List<FulcrumEvent>> health = router == null
                ? CompletableFuture.completedFuture(List.of(version))
                : AskPattern.<PoolRouter.Command, PoolStatus>ask(router, PoolRouter.GetStatus::new, timeout, system.scheduler())
                    .thenApply(status -> {
                      List<FulcrumEvent> events = new ArrayList<>();
                      events.add(version);
                      for (PoolStatus.Backend b : status.backends()) {
                        events.add(new FulcrumEvent.BackendHealthChanged(
                            state.name(), b.address(), b.health(), b.health(), FulcrumEvent.SNAPSHOT, now));
                      }
                      return events;
                    });
            perPool.add(health.toCompletableFuture());
          }
          return CompletableFuture.allOf(perPool.toArray(CompletableFuture[]::new)).thenApply(all -> {
            List<FulcrumEvent> events = new ArrayList<>();
            perPool.forEach(p -> events.addAll(p.join()));
            Map<String, RouteTableState> tables = new TreeMap<>(routes.states());
            tables.forEach((listener, table) -> events.add(new FulcrumEvent.RouteChanged(listener, table.version(),
                FulcrumEvent.SNAPSHOT, table.routes().stream().map(HttpRouteSettings::name).collect(Collectors.joining(", ")), table.origin(), 0, now)));
            return events;
          });
        });
  }
}
