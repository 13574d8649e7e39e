package dev.fulcrum.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.testing.TestConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The tls blocks of TCP listeners and of pools (TLS to backends), and the PROXY settings of TCP listeners. */
class TlsListenerAndPoolSettingsTest {
  private static Path pem;

  @BeforeAll
  static void files() throws IOException {
    pem = Files.createTempFile("fulcrum-settings", ".pem");
    Files.writeString(pem, "read at start-up, not by the parser");
  }

  private static FulcrumSettings parse(String hocon) {
    return SettingsParser.parse(TestConfig.resolved("fulcrum.pools.web.backends = [\"127.0.0.1:9001\"]\n" + hocon));
  }

  private static String error(String hocon) {
    return assertThrows(SettingsException.class, () -> parse(hocon)).getMessage();
  }

  @Test
  void aTcpListenerTakesTheHttpListenersTlsBlockAndTrustedProxies() {
    TcpListenerSettings l = parse("""
        fulcrum.listeners.tcp.l4 { bind = "127.0.0.1:0", pool = web, proxy-protocol.trusted = ["10.0.0.0/8"]
          tls { certificates = [{cert = "%s", key = "%s"}], handshake-timeout = 3s } }
        """.formatted(pem, pem)).tcpListeners().get(0);
    assertEquals(Duration.ofSeconds(3), l.tls().orElseThrow().handshakeTimeout());
    assertEquals(1, l.proxyProtocolFrom().size());
    assertEquals(TlsSettings.HANDSHAKE_TIMEOUT, parse("""
        fulcrum.listeners.tcp.l4 { bind = "127.0.0.1:0", pool = web, tls.certificates = [{cert = "%s", key = "%s"}] }
        """.formatted(pem, pem)).tcpListeners().get(0).tls().orElseThrow().handshakeTimeout());
  }

  @Test
  void theTlsProviderIsConscryptUnlessTheJdkIsAskedForAndAnythingElseIsNamed() {
    String listener = "fulcrum.listeners.tcp.l4 { bind = \"127.0.0.1:0\", pool = web, tls { certificates = "
        + "[{cert = \"%s\", key = \"%s\"}] %s } }";
    assertEquals(TlsSettings.Provider.CONSCRYPT,
        parse(listener.formatted(pem, pem, "")).tcpListeners().get(0).tls().orElseThrow().provider());
    assertEquals(TlsSettings.Provider.JDK, parse(listener.formatted(pem, pem, ", provider = JDK"))
        .tcpListeners().get(0).tls().orElseThrow().provider());
    String error = error(listener.formatted(pem, pem, ", provider = openssl"));
    assertTrue(error.contains("fulcrum.listeners.tcp.l4.tls.provider") && error.contains("jdk or conscrypt"), error);
  }

  @Test
  void mistakesInATcpListenersTlsNameTheirPath() {
    assertTrue(error("fulcrum.listeners.tcp.l4 { bind = \"127.0.0.1:0\", pool = web, tls.certificates = [] }")
        .contains("fulcrum.listeners.tcp.l4.tls.certificates"));
    assertTrue(error("fulcrum.listeners.tcp.l4 { bind = \"127.0.0.1:0\", pool = web, tls.certificates = [{cert = \"/nowhere.pem\", key = \"/nowhere.key\"}] }")
        .contains("fulcrum.listeners.tcp.l4.tls.certificates[0].cert"));
  }

  @Test
  void aPoolsTlsToItsBackendsDefaultsToVerifyingTheHostName() {
    FulcrumSettings settings = parse("fulcrum.pools.web.tls { ca-file = \"%s\", server-name = api.internal }".formatted(pem));
    BackendTlsSettings tls = settings.backendTls("web").orElseThrow();
    assertTrue(tls.verifyHostname());
    assertEquals("api.internal", tls.serverName().orElseThrow());
    assertEquals(pem.toString(), tls.caFile().orElseThrow());
    assertTrue(parse("fulcrum.pools.web.tls { enabled = false }").backendTls("web").isEmpty());
    assertTrue(parse("").backendTls("web").isEmpty());
  }

  @Test
  void aPoolsTlsIsFoundByItsNameForRoutesTcpListenersAndChecks() {
    FulcrumSettings settings = parse("""
        fulcrum.pools.web.tls {}
        fulcrum.pools.plain.backends = ["127.0.0.1:9002"]
        """);
    assertTrue(settings.backendTls("web").isPresent());
    assertTrue(settings.backendTls("plain").isEmpty());
  }

  @Test
  void mistakesInAPoolsTlsNameTheirPath() {
    assertTrue(error("fulcrum.pools.web.tls { cert-file = \"%s\" }".formatted(pem)).contains("fulcrum.pools.web.tls.key-file"));
    assertTrue(error("fulcrum.pools.web.tls { ca-file = \"/nowhere/ca.pem\" }").contains("fulcrum.pools.web.tls.ca-file"));
    assertTrue(error("fulcrum.pools.web.tls { protocols = [\"TLSv1.1\"] }").contains("fulcrum.pools.web.tls.protocols"));
    assertTrue(error("fulcrum.pools.web.tls { verify-hostname = maybe }").contains("fulcrum.pools.web.tls.verify-hostname"));
  }

  @Test
  void theStreamsEngineCannotSendAProxyHeaderBeforeABackendHandshake() {
    String message = error("""
        fulcrum.pools.web.tls {}
        fulcrum.listeners.tcp.l4 { bind = "127.0.0.1:0", pool = web, engine = streams, send-proxy-protocol = v2 }
        """);
    assertTrue(message.contains("fulcrum.listeners.tcp.l4.send-proxy-protocol"), message);
  }
}
