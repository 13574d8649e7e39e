package dev.fulcrum.config;

import java.util.List;

/**
 * A pool with {@code discovery = dns}: the names its backends are discovered from, and the DNS settings it uses (the
 * node's {@code fulcrum.dns}, with the pool's own {@code dns.min-ttl} and {@code dns.max-ttl} if it sets them).
 */
public record DiscoverySettings(String pool, List<DnsName> names, DnsSettings dns) {
  public DiscoverySettings {
    names = List.copyOf(names);
  }

  /**
   * One name to follow. An address name ({@code web.internal:8080}) gives one backend per A and AAAA record, on
   * {@code port}; a service name ({@code _http._tcp.web.internal}) gives one per SRV record of the lowest priority,
   * with the record's target and port. Each backend found gets {@code weight}.
   */
  public record DnsName(String name, int port, boolean srv, int weight) {
    /** How the name is written in config, and in the origin of the changes it makes ({@code dns web.internal:8080}). */
    public String source() {
      return srv ? name : name + ":" + port;
    }
  }
}
