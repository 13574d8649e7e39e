package dev.fulcrum.routing;

import dev.fulcrum.backend.BackendActor;
import dev.fulcrum.config.HostPort;
import java.net.InetSocketAddress;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * A backend as the data plane sees it: where to connect, its weight, its live counters, the actor that owns its
 * health (which the data plane tells about connect failures), and the TLS its pool speaks to it (null: plain), as of
 * the table it came in: every engine connects with what the backend's own table says.
 */
public record RoutedBackend(
    HostPort address, InetSocketAddress socketAddress, int weight, BackendStats stats, ActorRef<BackendActor.Command> health,
    dev.fulcrum.tls.BackendTls tls) {

  public RoutedBackend(HostPort address, InetSocketAddress socketAddress, int weight, BackendStats stats,
      ActorRef<BackendActor.Command> health) {
    this(address, socketAddress, weight, stats, health, null);
  }

  public RoutedBackend(HostPort address, int weight, BackendStats stats, ActorRef<BackendActor.Command> health) {
    this(address, address.toSocketAddress(), weight, stats, health, null);
  }

  public RoutedBackend(HostPort address, int weight, BackendStats stats, ActorRef<BackendActor.Command> health,
      dev.fulcrum.tls.BackendTls tls) {
    this(address, address.toSocketAddress(), weight, stats, health, tls);
  }

  /** Reports a failed connect; the backend actor decides whether that takes the backend down. */
  public void reportConnectFailure(String reason) {
    stats.outliers().localFailure(reason);
    health.tell(new BackendActor.PassiveFailure(stats.connectFailed(), reason));
  }
}
