package dev.fulcrum.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.config.DiscoverySettings.DnsName;
import dev.fulcrum.testing.TestConfig;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code discovery = dns} and {@code fulcrum.dns}: what they parse to, and every mistake named by its path. */
class DiscoverySettingsTest {

  private static FulcrumSettings parse(String hocon) {
    return SettingsParser.parse(TestConfig.resolved(hocon));
  }

  @Test
  void namesAndServicesAreFollowedAndAddressesAreBackendsFromTheStart() {
    FulcrumSettings settings = parse("""
        fulcrum.dns { servers = ["127.0.0.1:5353", "10.0.0.53", "::1"], timeout = 1s, min-ttl = 2s, max-ttl = 60s }
        fulcrum.pools.web {
          discovery = dns
          backends = ["Web.Internal:8080", {address = "api.internal:9000", weight = 3}, "_http._tcp.svc.internal", "10.0.0.9:80"]
          dns.max-ttl = 10s
        }
        fulcrum.pools.plain.backends = ["db.internal:5432"]
        """);
    assertEquals(List.of(new BackendSettings(HostPort.parse("10.0.0.9:80", false), 1)), settings.pool("web").backends());
    DiscoverySettings web = settings.discoveryFor("web").orElseThrow();
    assertEquals(List.of(
        new DnsName("web.internal", 8080, false, 1),
        new DnsName("api.internal", 9000, false, 3),
        new DnsName("_http._tcp.svc.internal", 0, true, 1)), web.names());
    assertEquals(Duration.ofSeconds(2), web.dns().minTtl());
    assertEquals(Duration.ofSeconds(10), web.dns().maxTtl(), "the pool's own bound");
    assertEquals(Duration.ofSeconds(60), settings.dns().maxTtl());
    assertEquals(List.of(HostPort.parse("127.0.0.1:5353", false), HostPort.parse("10.0.0.53:53", false),
        HostPort.parse("[::1]:53", false)), settings.dns().servers());
    // a pool without discovery keeps a host name as a backend, looked up on connect
    assertTrue(settings.discoveryFor("plain").isEmpty());
    assertEquals("db.internal", settings.pool("plain").backends().get(0).address().host());
  }

  @Test
  void theTtlIsHeldWithinTheBounds() {
    DnsSettings dns = parse("fulcrum.pools.web.backends = [\"127.0.0.1:1\"]").dns();
    assertEquals(Duration.ofSeconds(5), dns.minTtl());
    assertEquals(Duration.ofSeconds(300), dns.maxTtl());
    assertEquals(Duration.ofSeconds(5), dns.refreshAfter(Duration.ZERO));
    assertEquals(Duration.ofSeconds(42), dns.refreshAfter(Duration.ofSeconds(42)));
    assertEquals(Duration.ofSeconds(300), dns.refreshAfter(Duration.ofDays(2)));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', textBlock = """
      unknown mode        | fulcrum.pools.web { discovery = consul, backends = ["web.internal:80"] }      | fulcrum.pools.web.discovery: 'consul' is not a discovery mode (static, dns)
      nothing to follow   | fulcrum.pools.web { discovery = dns, backends = ["10.0.0.1:80"] }             | fulcrum.pools.web.backends: with discovery = dns, at least one backend must be a host name
      max below min       | fulcrum.dns { min-ttl = 10s, max-ttl = 5s }                                   | fulcrum.dns.max-ttl: must be at least min-ttl (PT10S), got PT5S
      min below a second  | fulcrum.dns.min-ttl = 500ms                                                   | fulcrum.dns.min-ttl: must be within 1s-1d
      max beyond a day    | fulcrum.dns.max-ttl = 2d                                                      | fulcrum.dns.max-ttl: must be within 1s-1d
      pool's own bounds   | fulcrum.pools.web { discovery = dns, backends = ["web.internal:80"], dns.min-ttl = 0s } | fulcrum.pools.web.dns.min-ttl: must be a positive duration
      pool's max below    | fulcrum.pools.web { discovery = dns, backends = ["web.internal:80"], dns.max-ttl = 1s } | fulcrum.pools.web.dns.max-ttl: must be at least min-ttl
      pool's other key    | fulcrum.pools.web { discovery = dns, backends = ["web.internal:80"], dns.timeout = 1s } | fulcrum.pools.web.dns.timeout: is not a per-pool DNS setting
      dns on static pool  | fulcrum.pools.web { backends = ["web.internal:80"], dns.min-ttl = 1s }         | fulcrum.pools.web.dns: applies only with discovery = dns
      server by name      | fulcrum.dns.servers = ["dns.example"]                                         | fulcrum.dns.servers[0]: 'dns.example' is not an IP address
      server bad port     | fulcrum.dns.servers = ["127.0.0.1:99999"]                                     | fulcrum.dns.servers[0]: '127.0.0.1:99999' has port 99999
      timeout too long    | fulcrum.dns.timeout = 2m                                                      | fulcrum.dns.timeout: must be at most 60s
      bad service         | fulcrum.pools.web { discovery = dns, backends = ["_http.web.internal"] }      | fulcrum.pools.web.backends: '_http.web.internal' is not a service name
      service with port   | fulcrum.pools.web { discovery = dns, backends = ["_http._tcp.web.internal:80"] } | fulcrum.pools.web.backends: '_http._tcp.web.internal:80': a service name takes no port
      duplicate name      | fulcrum.pools.web { discovery = dns, backends = ["a.internal:80", "A.internal:80"] } | fulcrum.pools.web.backends[1]: duplicate name a.internal:80
      """)
  void aMistakeNamesItsPath(String name, String mistake, String expected) {
    String hocon = "fulcrum.pools.web.backends = [\"127.0.0.1:9001\"]\n" + mistake;
    SettingsException e = assertThrows(SettingsException.class, () -> parse(hocon));
    assertTrue(e.getMessage().contains(expected), e.getMessage());
  }

  @Test
  void startUpRefusesBadDnsSettingsBeforeStartingAnything() {
    SettingsException e = assertThrows(SettingsException.class, () -> Fulcrum.start(TestConfig.of("""
        fulcrum.pools.web { discovery = dns, backends = ["web.internal:80"] }
        fulcrum.dns { min-ttl = 1m, max-ttl = 30s }
        """)));
    assertTrue(e.getMessage().contains("fulcrum.dns.max-ttl: must be at least min-ttl"), e.getMessage());
  }
}
