package dev.fulcrum.routing;

import dev.fulcrum.backend.BackendActor;
import dev.fulcrum.config.HostPort;
import java.net.InetSocketAddress;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * A backend as the data plane sees it: where to connect, its weight, its live counters, and the actor that owns its
 * health (which the data plane tells about connect failures).
 */
public record RoutedBackend(
    HostPort address, InetSocketAddress socketAddress, int weight, BackendStats stats, ActorRef<BackendActor.Command> health) {

  public RoutedBackend(HostPort address, int weight, BackendStats stats, ActorRef<BackendActor.Command> health) {
    this(address, address.toSocketAddress(), weight, stats, health);
  }

  /** Reports a failed connect; the backend actor decides whether that takes the backend down. */
  public void reportConnectFailure(String reason) {
    stats.outliers().localFailure(reason);
    health.tell(new BackendActor.PassiveFailure(stats.connectFailed(), reason));
  }
}
