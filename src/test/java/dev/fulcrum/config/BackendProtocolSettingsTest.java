package dev.fulcrum.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.testing.TestConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@code fulcrum.pools.<pool>.protocol}: what is spoken to a pool's backends, and the mistakes refused at start-up. */
class BackendProtocolSettingsTest {
  private static Path pem;

  @BeforeAll
  static void files() throws IOException {
    pem = Files.createTempFile("fulcrum-protocol", ".pem");
  }

  private static FulcrumSettings parse(String hocon) {
    return SettingsParser.parse(TestConfig.resolved("fulcrum.pools.web.backends = [\"127.0.0.1:9001\"]\n" + hocon));
  }

  private static String error(String hocon) {
    return assertThrows(SettingsException.class, () -> parse(hocon)).getMessage();
  }

  @Test
  void poolsSpeakHttp11UnlessTheySayOtherwise() {
    assertEquals(BackendProtocol.HTTP_1_1, parse("").pool("web").protocol());
    BackendProtocol h2c = parse("fulcrum.pools.web.protocol = h2c").pool("web").protocol();
    assertEquals(BackendProtocol.Kind.H2C, h2c.kind());
    assertEquals(BackendProtocol.DEFAULT_MAX_STREAMS, h2c.maxStreams());
    BackendProtocol h2 = parse("fulcrum.pools.web { protocol = h2, max-concurrent-streams = 8, tls.ca-file = \"%s\" }"
        .formatted(pem)).pool("web").protocol();
    assertEquals(BackendProtocol.Kind.H2, h2.kind());
    assertEquals(8, h2.maxStreams());
    assertEquals(BackendProtocol.Kind.HTTP_1_1,
        parse("fulcrum.pools.web.protocol = \"http/1.1\"").pool("web").protocol().kind());
  }

  @Test
  void mistakesNameThePath() {
    String unknown = error("fulcrum.pools.web.protocol = http3");
    assertTrue(unknown.contains("fulcrum.pools.web.protocol") && unknown.contains("'http3'"), unknown);
    String noTls = error("fulcrum.pools.web.protocol = h2");
    assertTrue(noTls.contains("fulcrum.pools.web.protocol") && noTls.contains("h2c"), noTls);
    String tlsOnH2c = error("fulcrum.pools.web { protocol = h2c, tls.ca-file = \"%s\" }".formatted(pem));
    assertTrue(tlsOnH2c.contains("fulcrum.pools.web.protocol"), tlsOnH2c);
    String streams = error("fulcrum.pools.web { protocol = h2c, max-concurrent-streams = 0 }");
    assertTrue(streams.contains("fulcrum.pools.web.max-concurrent-streams"), streams);
  }

  @Test
  void theAdminApisJsonHasTheConfigsNamesAndChecks() {
    assertEquals(new BackendProtocol(BackendProtocol.Kind.H2C, 50),
        BackendProtocol.parseJson("{\"protocol\": \"h2c\", \"max-concurrent-streams\": 50}"));
    assertEquals(BackendProtocol.Kind.H2, BackendProtocol.parseJson("{\"protocol\": \"h2\"}").kind());
    BackendProtocol back = BackendProtocol.parseJson(new com.fasterxml.jackson.databind.ObjectMapper().valueToTree(
        new BackendProtocol(BackendProtocol.Kind.H2C, 7).render()).toString());
    assertEquals(new BackendProtocol(BackendProtocol.Kind.H2C, 7), back);
    String unknown = assertThrows(SettingsException.class, () -> BackendProtocol.parseJson("{\"protocol\": \"h3\"}")).getMessage();
    assertEquals("protocol: 'h3' is not a backend protocol (http/1.1, h2, h2c)", unknown);
    String field = assertThrows(SettingsException.class, () -> BackendProtocol.parseJson("{\"streams\": 3}")).getMessage();
    assertTrue(field.startsWith("streams: is not a protocol setting (known: max-concurrent-streams, protocol)"), field);
    String range = assertThrows(SettingsException.class,
        () -> BackendProtocol.parseJson("{\"protocol\": \"h2c\", \"max-concurrent-streams\": 0}")).getMessage();
    assertEquals("max-concurrent-streams: 0 is outside 1-1000000", range);
    assertTrue(new BackendProtocol(BackendProtocol.Kind.H2, 10).problem(false).orElseThrow().contains("use h2c"));
    assertTrue(new BackendProtocol(BackendProtocol.Kind.H2C, 10).problem(true).orElseThrow().contains("use h2"));
    assertTrue(new BackendProtocol(BackendProtocol.Kind.H2, 10).problem(true).isEmpty());
  }

  @Test
  void aPekkoListenerRoutingToAnHttp2PoolIsRefused() {
    String e = error("""
        fulcrum.pools.web.protocol = h2c
        fulcrum.listeners.http.p { bind = "127.0.0.1:0", engine = pekko, routes = [{pool = web}] }
        """);
    assertTrue(e.contains("fulcrum.pools.web.protocol") && e.contains("engine = pekko") && e.contains("listener p"), e);
  }

  @Test
  void aProxyHeaderToAnHttp2PoolIsRefused() {
    String e = error("""
        fulcrum.pools.web.protocol = h2c
        fulcrum.http.pools.web.send-proxy-protocol = v1
        fulcrum.listeners.http.n { bind = "127.0.0.1:0", engine = nio, routes = [{pool = web}] }
        """);
    assertTrue(e.contains("fulcrum.pools.web.protocol") && e.contains("PROXY"), e);
  }
}
