package dev.fulcrum.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.testing.TestConfig;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class HttpSettingsParserTest {
  private static final String POOLS = """
      fulcrum.pools.web.backends = ["127.0.0.1:9001"]
      fulcrum.pools.api.backends = ["127.0.0.1:9002"]
      """;

  private static HttpSettings parse(String hocon) {
    return SettingsParser.parse(TestConfig.resolved(POOLS + hocon)).http();
  }

  private static String error(String hocon) {
    return assertThrows(SettingsException.class, () -> parse(hocon)).getMessage();
  }

  @Test
  void routeSettingsComeFromRouteThenPoolThenListenerThenDefaults() {
    HttpSettings settings = parse("""
        fulcrum.http.pools.api { response-timeout = 7s, max-attempts = 2, sticky.enabled = on }
        fulcrum.listeners.http.main {
          bind = "127.0.0.1:0"
          connect-timeout = 3s
          response-timeout = 9s
          routes = [
            {pool = web}
            {path = "/api", pool = api}
            {path = "/api/slow", pool = api, response-timeout = 60s, rewrite-prefix = "/slow/"}
          ]
        }
        """);
    List<HttpRouteSettings> routes = settings.listeners().get(0).routes();
    assertEquals(Duration.ofSeconds(9), routes.get(0).upstream().responseTimeout(), "listener");
    assertEquals(Duration.ofSeconds(3), routes.get(0).upstream().connectTimeout(), "listener");
    assertEquals(3, routes.get(0).upstream().maxAttempts(), "default");
    assertFalse(routes.get(0).sticky().enabled());
    assertEquals(Duration.ofSeconds(7), routes.get(1).upstream().responseTimeout(), "pool beats listener");
    assertEquals(2, routes.get(1).upstream().maxAttempts(), "pool");
    assertTrue(routes.get(1).sticky().enabled());
    assertEquals(Duration.ofSeconds(60), routes.get(2).upstream().responseTimeout(), "route beats pool");
    assertEquals(Duration.ofSeconds(3), routes.get(2).upstream().connectTimeout(), "listener under pool");
    assertEquals("/slow", routes.get(2).rewritePrefix().orElseThrow());
    assertEquals("*", routes.get(0).host());
    assertEquals("/", routes.get(0).pathPrefix());
  }

  @Test
  void defaultConfigServesHttpOn8080InFrontOfTheDemoPool() {
    FulcrumSettings settings = SettingsParser.parse(
        dev.fulcrum.Fulcrum.withDefaults(
            com.typesafe.config.ConfigFactory.parseFile(new java.io.File("conf/application.conf"))));
    HttpListenerSettings listener = settings.http().listeners().get(0);
    assertEquals(new HostPort("127.0.0.1", 8080), listener.bind());
    assertEquals("web", listener.routes().get(0).pool());
  }

  @Test
  void readsHeaderRulesFirewallAndLimits() {
    HttpListenerSettings listener = parse("""
        fulcrum.listeners.http.main {
          bind = "127.0.0.1:0"
          firewall { allow = ["10.0.0.0/8", "2001:db8::/32"], deny-paths = ["/admin/*"] }
          limits { max-body-size = 2g, max-connections = 10 }
          routes = [{pool = web, request-headers { remove = ["X-A"], set { "X-B" = "1" }, add { "X-C" = 2 } }}]
        }
        """).listeners().get(0);
    HttpRouteSettings.HeaderRules rules = listener.routes().get(0).requestHeaders();
    assertEquals(List.of("X-A"), rules.remove());
    assertEquals(List.of(new HttpRouteSettings.Header("X-B", "1")), rules.set());
    assertEquals(List.of(new HttpRouteSettings.Header("X-C", "2")), rules.add());
    assertEquals(2, listener.firewall().allow().size());
    assertEquals(List.of("/admin/*"), listener.firewall().denyPaths());
    assertEquals(2L << 30, listener.limits().maxBodySize());
    assertEquals(10, listener.limits().maxConnections());
  }

  @Test
  void unknownPoolIsNamedWithItsPath() {
    String message = error("fulcrum.listeners.http.main { bind = \"127.0.0.1:0\", routes = [{pool = nope}] }");
    assertTrue(message.startsWith("fulcrum.listeners.http.main.routes[0].pool: unknown pool 'nope' (defined: api, web)"), message);
    assertTrue(error("fulcrum.http.pools.nope.sticky.enabled = on").startsWith("fulcrum.http.pools.nope: unknown pool"));
  }

  @Test
  void badCidrIsRefused() {
    String message = error("""
        fulcrum.listeners.http.main { bind = "127.0.0.1:0", routes = [{pool = web}], firewall.deny = ["10.0.0.0/33"] }
        """);
    assertTrue(message.startsWith("fulcrum.listeners.http.main.firewall.deny: [0] '10.0.0.0/33' has prefix length 33"), message);
    assertTrue(error("""
        fulcrum.listeners.http.main { bind = "127.0.0.1:0", routes = [{pool = web}], firewall.allow = ["example.com"] }
        """).contains("is not a CIDR"));
  }

  @Test
  void badHeaderRulesAreRefused() {
    String base = "fulcrum.listeners.http.main { bind = \"127.0.0.1:0\", routes = [{pool = web, %s}] }";
    assertTrue(error(base.formatted("request-headers.set { \"Bad Name\" = x }")).contains("is not a valid header name"));
    assertTrue(error(base.formatted("response-headers.add { \"Content-Length\" = 3 }"))
        .contains("fulcrum.listeners.http.main.routes[0].response-headers.add.Content-Length: 'Content-Length' frames"));
    assertTrue(error(base.formatted("request-headers.set { \"X-A\" = \"a\\nb\" }")).contains("must not contain CR, LF"));
  }

  @Test
  void badRoutesAreRefused() {
    String base = "fulcrum.listeners.http.main { bind = \"127.0.0.1:0\", routes = %s }";
    assertTrue(error(base.formatted("[]")).contains("routes: is empty"));
    assertTrue(error(base.formatted("[{pool = web, path = api}]")).contains("routes[0].path: must start with '/'"));
    assertTrue(error(base.formatted("[{pool = web, host = \"a b\"}]")).contains("routes[0].host:"));
    assertTrue(error(base.formatted("[{pool = web}, {pool = api, path = \"/\"}]"))
        .contains("routes[1]: matches the same host '*' and path '/' as routes[0]"));
    assertTrue(error(base.formatted("[{pool = web, rewrite-prefix = x}]")).contains("rewrite-prefix: must be empty"));
    assertTrue(error(base.formatted("[{pool = web, max-attempts = 0}]")).contains("max-attempts: 0 is outside 1-10"));
    assertTrue(error(base.formatted("[{pool = web, queue-size = -1}]")).contains("queue-size: -1 is outside 0-1000000"));
    assertTrue(error(base.formatted("[{pool = web, queue-timeout = 0s}]")).contains("queue-timeout: "));
  }

  @Test
  void tlsMistakesNameTheirPath() throws Exception {
    java.nio.file.Path pem = java.nio.file.Files.createTempFile("fulcrum-test", ".pem");
    String base = "fulcrum.listeners.http.main { bind = \"127.0.0.1:0\", routes = [{pool = web}], tls %s }";
    assertTrue(error(base.formatted("{}")).contains("main.tls.certificates: is missing"));
    assertTrue(error(base.formatted("{certificates = []}")).contains("main.tls.certificates: is empty"));
    assertTrue(error(base.formatted("{certificates = [{cert = \"" + pem + "\"}]}"))
        .contains("main.tls.certificates[0].key: is missing"));
    assertTrue(error(base.formatted("{certificates = [{cert = \"/no/such.pem\", key = \"" + pem + "\"}]}"))
        .contains("main.tls.certificates[0].cert: '/no/such.pem' is not a readable file"));
    String one = "certificates = [{cert = \"" + pem + "\", key = \"" + pem + "\"}]";
    assertTrue(error(base.formatted("{" + one + ", protocols = [TLSv1.1]}"))
        .contains("main.tls.protocols: 'TLSv1.1' is not offered"));
    assertTrue(error(base.formatted("{" + one + ", client-auth = required}"))
        .contains("main.tls.client-ca: is missing"));
    assertTrue(error(base.formatted("{" + one + ", client-auth = maybe}"))
        .contains("main.tls.client-auth: must be none, optional or required"));
  }

  @Test
  void cidrsMatchIpv4AndIpv6() throws Exception {
    assertTrue(Cidr.parse("10.1.0.0/16").contains(InetAddress.getByName("10.1.255.3")));
    assertFalse(Cidr.parse("10.1.0.0/16").contains(InetAddress.getByName("10.2.0.1")));
    assertTrue(Cidr.parse("10.1.2.3").contains(InetAddress.getByName("10.1.2.3")));
    assertTrue(Cidr.parse("2001:db8::/33").contains(InetAddress.getByName("2001:db8:7fff::1")));
    assertFalse(Cidr.parse("2001:db8::/33").contains(InetAddress.getByName("2001:db8:8000::1")));
    assertFalse(Cidr.parse("::1").contains(InetAddress.getByName("127.0.0.1")));
    assertTrue(Cidr.parse("0.0.0.0/0").contains(InetAddress.getByName("192.168.1.1")));
  }

  @Test
  void http2IsOffUnlessAskedAndItsMistakesNameTheSetting() {
    HttpListenerSettings plain = parse("""
        fulcrum.listeners.http.main { bind = "127.0.0.1:0", routes = [{pool = web}] }
        """).listeners().get(0);
    assertFalse(plain.http2().any());
    assertEquals(100, plain.http2().maxConcurrentStreams());
    HttpListenerSettings h2c = parse("""
        fulcrum.listeners.http.main {
          bind = "127.0.0.1:0", routes = [{pool = web}]
          http2 { cleartext = on, max-concurrent-streams = 250, stream-window = 1m, max-resets-per-second = 50 }
        }
        """).listeners().get(0);
    assertTrue(h2c.http2().cleartext());
    assertEquals(250, h2c.http2().maxConcurrentStreams());
    assertEquals(1 << 20, h2c.http2().streamWindow());
    assertEquals(50, h2c.http2().maxResetsPerSecond());
    assertTrue(error("""
        fulcrum.listeners.http.main { bind = "127.0.0.1:0", routes = [{pool = web}], http2.enabled = on }
        """).startsWith("fulcrum.listeners.http.main.http2.enabled: offers h2 by TLS ALPN"));
    assertTrue(error("""
        fulcrum.listeners.http.main {
          bind = "127.0.0.1:0", routes = [{pool = web}], engine = pekko, http2.cleartext = on
        }
        """).startsWith("fulcrum.listeners.http.main.http2.cleartext: needs engine = nio"));
    assertTrue(error("""
        fulcrum.listeners.http.main {
          bind = "127.0.0.1:0", routes = [{pool = web}], http2.max-concurrent-streams = 0
        }
        """).startsWith("fulcrum.listeners.http.main.http2.max-concurrent-streams: 0 is outside"));
  }
}
