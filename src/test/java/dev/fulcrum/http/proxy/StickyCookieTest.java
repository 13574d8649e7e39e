package dev.fulcrum.http.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.config.HostPort;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class StickyCookieTest {
  /** The hash as it was computed before (over the address's string), so cookies issued then keep their backend. */
  private static String previousToken(HostPort backend) {
    long h = 0xcbf29ce484222325L;
    for (byte b : backend.toString().getBytes(StandardCharsets.UTF_8)) {
      h ^= b & 0xff;
      h *= 0x100000001b3L;
    }
    String hex = Long.toHexString(h);
    return "0".repeat(16 - hex.length()) + hex;
  }

  @Test
  void tokensAreThoseIssuedBefore() {
    for (String address : List.of("127.0.0.1:9001", "10.0.0.12:80", "[::1]:8080", "[fe80::1%eth0]:1", "backend-3.internal:65535",
        "a:1", "b:10", "c:100", "d:1000", "e:10000", "f:9")) {
      HostPort backend = HostPort.parse(address, false);
      assertEquals(previousToken(backend), StickyCookie.token(backend), address);
    }
  }

  @Test
  void keepsNoCacheThatBackendsComingAndGoingWouldGrow() {
    for (int port = 1; port < 20_000; port++) StickyCookie.token(new HostPort("10.1.2.3", port));
    List<Field> caches = Arrays.stream(StickyCookie.class.getDeclaredFields())
        .filter(f -> Modifier.isStatic(f.getModifiers()))
        .filter(f -> Map.class.isAssignableFrom(f.getType()) || java.util.Collection.class.isAssignableFrom(f.getType()))
        .toList();
    assertTrue(caches.isEmpty(), "static collections in StickyCookie: " + caches);
  }
}
