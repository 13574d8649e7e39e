package dev.fulcrum.routing;

import dev.fulcrum.backend.BackendActor;
import dev.fulcrum.config.HostPort;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * A backend as the data plane sees it: where to connect, its weight, its live counters, and the actor that owns its
 * health (which the data plane tells about connect failures).
 */
public record RoutedBackend(HostPort address, int weight, BackendStats stats, ActorRef<BackendActor.Command> health) {

  /** Reports a failed connect; the backend actor decides whether that takes the backend down. */
  public void reportConnectFailure(String reason) {
    health.tell(new BackendActor.PassiveFailure(stats.connectFailed(), reason));
  }
}
