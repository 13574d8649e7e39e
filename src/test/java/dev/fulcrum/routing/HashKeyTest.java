package dev.fulcrum.routing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.net.InetAddress;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

class HashKeyTest {
  private static final InetAddress CLIENT = address("192.0.2.7");
  private static final Function<String, Optional<String>> NONE = name -> Optional.empty();

  @Test
  void parsesTheConfigForms() {
    assertEquals(HashKey.CLIENT_IP, HashKey.parse("client-ip"));
    assertEquals(new HashKey(HashKey.Source.PATH, ""), HashKey.parse("path"));
    assertEquals(new HashKey(HashKey.Source.HEADER, "X-User"), HashKey.parse("header:X-User"));
    assertEquals(new HashKey(HashKey.Source.COOKIE, "session"), HashKey.parse("cookie:session"));
    assertEquals("cookie:session", HashKey.parse("cookie:session").toString());
    assertThrows(IllegalArgumentException.class, () -> HashKey.parse("header:bad name"));
    assertThrows(IllegalArgumentException.class, () -> HashKey.parse("query:x"));
  }

  @Test
  void keysComeFromTheNamedPartOfTheRequest() {
    Map<String, String> headers = Map.of("X-User", "alice");
    Map<String, String> cookies = Map.of("session", "s-42");
    Function<String, Optional<String>> header = name -> Optional.ofNullable(headers.get(name));
    Function<String, Optional<String>> cookie = name -> Optional.ofNullable(cookies.get(name));

    assertEquals(HashKey.clientIp(CLIENT), HashKey.CLIENT_IP.keyFor(CLIENT, header, cookie, "/a"));
    assertEquals(HashKey.ofString("/a"), HashKey.parse("path").keyFor(CLIENT, header, cookie, "/a"));
    assertEquals(HashKey.ofString("alice"), HashKey.parse("header:X-User").keyFor(CLIENT, header, cookie, "/a"));
    assertEquals(HashKey.ofString("s-42"), HashKey.parse("cookie:session").keyFor(CLIENT, header, cookie, "/a"));
    assertNotEquals(HashKey.ofString("/a"), HashKey.ofString("/b"));
    assertNotEquals(HashKey.clientIp(CLIENT), HashKey.clientIp(address("192.0.2.8")));
  }

  @Test
  void aMissingHeaderOrCookieFallsBackToTheClientIp() {
    assertEquals(HashKey.clientIp(CLIENT), HashKey.parse("header:X-User").keyFor(CLIENT, NONE, NONE, "/"));
    assertEquals(HashKey.clientIp(CLIENT), HashKey.parse("cookie:session").keyFor(CLIENT, NONE, NONE, "/"));
  }

  @Test
  void tablesComputeAKeyOnlyForKeyBasedStrategies() {
    Function<String, Optional<String>> failing = name -> {
      throw new AssertionError("looked up " + name);
    };
    RoutingTable roundRobin = Tables.table(StrategyKind.ROUND_ROBIN, Tables.backends(1, 1));
    assertEquals(0, roundRobin.requestKey(CLIENT, failing, failing, "/"));
    RoutingTable hashed = Tables.table(StrategyKind.CONSISTENT_HASH, Tables.backends(1, 1));
    assertEquals(HashKey.clientIp(CLIENT), hashed.requestKey(CLIENT, failing, failing, "/"));
  }

  private static InetAddress address(String literal) {
    try {
      return InetAddress.getByName(literal);
    } catch (java.net.UnknownHostException e) {
      throw new AssertionError(e);
    }
  }
}
