package dev.fulcrum.tcp;

import dev.fulcrum.config.TcpListenerSettings;
import dev.fulcrum.nio.EventLoops;
import dev.fulcrum.routing.TableRef;
import java.net.InetSocketAddress;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorSystem;

/**
 * An L4 listener: each accepted client connection is forwarded to a backend picked from the pool's current table. A
 * failed connect tries the next backend (up to {@code connect-attempts}) before the client is closed; then both
 * directions are joined with backpressure and half-close, and the backend's active-connection count is kept exact.
 */
public interface TcpListener {

  /** Binds the listener with the engine its settings name ({@code loops} serve the nio engine); fails if the port is taken. */
  static CompletionStage<TcpListener> start(
      ActorSystem<?> system, EventLoops loops, TcpListenerSettings settings, TableRef table) {
    return switch (settings.engine()) {
      case NIO -> NioTcpListener.start(loops, settings, table, dev.fulcrum.observe.Observability.get(system).tcp(settings));
      case STREAMS -> StreamsTcpListener.start(system, settings, table);
    };
  }

  TcpListenerSettings settings();

  InetSocketAddress localAddress();

  /** Client connections currently open through this listener. */
  int openConnections();

  /** Client connections closed at once because the pool had no eligible backend. */
  long rejectedConnections();

  /** Client connections closed at once because the listener's firewall refused their address. */
  long refusedConnections();

  /** Client connections closed because their TLS handshake failed or took too long. */
  long tlsRefusals();

  /** Client connections closed for a missing, malformed or untrusted PROXY header. */
  long proxyProtocolRefusals();

  /** The listener's TLS (its certificates reload through it), or empty on a plain listener. */
  default java.util.Optional<dev.fulcrum.tls.TlsContext> tls() {
    return java.util.Optional.empty();
  }

  /** Stops accepting new connections; open ones go on. */
  CompletionStage<Done> unbind();
}
