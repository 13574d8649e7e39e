package dev.fulcrum.config;

import java.time.Duration;

/**
 * An L4 listener. {@code connectAttempts} bounds how many backends one client connection may try before it is closed;
 * the idle timeout applies to both the client and the backend side. Beyond {@code maxConnections} open ones, new
 * connections wait in the kernel's accept backlog; a client the firewall (addresses only) refuses is closed at once.
 */
public record TcpListenerSettings(
    String name,
    HostPort bind,
    String pool,
    Duration connectTimeout,
    Duration idleTimeout,
    int connectAttempts,
    Engine engine,
    int maxConnections,
    FirewallSettings firewall,
    ProxyProtocolVersion sendProxyProtocol) {

  /** What moves the bytes: Fulcrum's own event loops, or Pekko Streams' {@code Tcp}. */
  public enum Engine { NIO, STREAMS }
}
