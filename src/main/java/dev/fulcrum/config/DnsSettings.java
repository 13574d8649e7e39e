package dev.fulcrum.config;

import java.time.Duration;
import java.util.List;

/**
 * How this node asks DNS ({@code fulcrum.dns}): the servers (none: the system's, from /etc/resolv.conf), how long one
 * query may take, and the bounds that a record's TTL is held within before a discovered name is asked again.
 */
public record DnsSettings(List<HostPort> servers, Duration timeout, Duration minTtl, Duration maxTtl) {
  /** The longest wait between two resolutions that max-ttl may ask for. */
  public static final Duration LONGEST_TTL = Duration.ofDays(1);

  public DnsSettings {
    servers = List.copyOf(servers);
  }

  /** How long to wait before asking again about records that live {@code ttl}: the TTL held within the bounds. */
  public Duration refreshAfter(Duration ttl) {
    if (ttl.compareTo(minTtl) < 0) return minTtl;
    if (ttl.compareTo(maxTtl) > 0) return maxTtl;
    return ttl;
  }

  public DnsSettings withTtlBounds(Duration min, Duration max) {
    return new DnsSettings(servers, timeout, min, max);
  }
}
