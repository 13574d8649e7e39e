package dev.fulcrum.pool;

/**
 * Where a pool's entity announces each new state (after every persisted event and after recovery), so the pool's
 * routers follow it. On a single node this is the node's {@link LocalPools}; a cluster replicates the state to every
 * node's {@code LocalPools} instead. Receivers must ignore a state whose version is not newer than the one they have.
 */
@FunctionalInterface
public interface PoolStatePublisher {
  void publish(PoolState state);
}
