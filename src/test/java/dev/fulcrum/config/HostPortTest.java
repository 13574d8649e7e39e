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
}
