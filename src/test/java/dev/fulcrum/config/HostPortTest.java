package dev.fulcrum.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class HostPortTest {

  @ParameterizedTest
  @ValueSource(strings = {"127.0.0.1:80", "[::1]:8080", "backend-1.example.com:443", "web_app_1:8080", "_http._tcp.example:80"})
  void acceptsAddressesOperatorsWrite(String text) {
    HostPort parsed = HostPort.parse(text, false);
    assertEquals(text, (parsed.host().contains(":") ? "[" + parsed.host() + "]" : parsed.host()) + ":" + parsed.port());
  }

  @ParameterizedTest
  @ValueSource(strings = {"-web:80", "web-:80", "a..b:80", "we b:80", "web!:80", "300.1.1.1:80", "::1:80", "web:0", "web:70000", "web:x"})
  void refusesWhatNoResolverAccepts(String text) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HostPort.parse(text, false));
    assertTrue(e.getMessage().contains("'" + text + "'"), e.getMessage());
  }

  @Test
  void portZeroOnlyWhereBinding() {
    assertEquals(0, HostPort.parse("127.0.0.1:0", true).port());
  }

  @Test
  void ipLiteralsAreToldFromNamesAsTheOldPatternDid() {
    java.util.regex.Pattern quad = java.util.regex.Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");
    for (String host : new String[] {"127.0.0.1", "10.0.0.255", "1.2.3.4", "999.1.1.1", "1.2.3", "1.2.3.4.5", "1..2.3",
        ".1.2.3", "1.2.3.", "1234.1.1.1", "a.b.c.d", "web-1", "backend.internal", "1.2.3.4a", "localhost"}) {
      assertEquals(quad.matcher(host).matches(), new HostPort(host, 80).isIpLiteral(), host);
    }
    assertTrue(new HostPort("::1", 80).isIpLiteral());
  }
}
