package dev.fulcrum.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
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
    assertNull(parse("").backendProtocols().get("web"));
    BackendProtocol h2c = parse("fulcrum.pools.web.protocol = h2c").backendProtocols().get("web");
    assertEquals(BackendProtocol.Kind.H2C, h2c.kind());
    assertEquals(BackendProtocol.DEFAULT_MAX_STREAMS, h2c.maxStreams());
    BackendProtocol h2 = parse("fulcrum.pools.web { protocol = h2, max-concurrent-streams = 8, tls.ca-file = \"%s\" }"
        .formatted(pem)).backendProtocols().get("web");
    assertEquals(BackendProtocol.Kind.H2, h2.kind());
    assertEquals(8, h2.maxStreams());
    assertEquals(BackendProtocol.Kind.HTTP_1_1,
        parse("fulcrum.pools.web.protocol = \"http/1.1\"").backendProtocols().get("web").kind());
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
