package dev.fulcrum.config;

import java.time.Duration;

/**
 * An L4 listener. {@code connectAttempts} bounds how many backends one client connection may try before it is closed;
 * the idle timeout applies to both the client and the backend side. Beyond {@code maxConnections} open ones, new
 * connections wait in the kernel's accept backlog; a client the firewall (addresses only) refuses is closed at once.
 * With {@code tls}, clients speak TLS and the backend gets the decrypted bytes; with {@code proxyProtocolFrom}, every
 * connection must come from one of these CIDRs and begin with a PROXY header, whose client address is the one the
 * firewall, the hash key and the access log see. A pool with TLS to its backends ({@code fulcrum.pools.<pool>.tls})
 * gets the client's bytes encrypted again (L4 re-encryption).
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
    ProxyProtocolVersion sendProxyProtocol,
    java.util.Optional<TlsSettings> tls,
    java.util.List<Cidr> proxyProtocolFrom) {

  public TcpListenerSettings {
    proxyProtocolFrom = java.util.List.copyOf(proxyProtocolFrom);
  }

  /** A plain listener that reads no PROXY header. */
  public TcpListenerSettings(String name, HostPort bind, String pool, Duration connectTimeout, Duration idleTimeout,
      int connectAttempts, Engine engine, int maxConnections, FirewallSettings firewall,
      ProxyProtocolVersion sendProxyProtocol) {
    this(name, bind, pool, connectTimeout, idleTimeout, connectAttempts, engine, maxConnections, firewall,
        sendProxyProtocol, java.util.Optional.empty(), java.util.List.of());
  }

  /** What moves the bytes: Fulcrum's own event loops, or Pekko Streams' {@code Tcp}. */
  public enum Engine { NIO, STREAMS }
}
