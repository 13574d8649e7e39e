package dev.fulcrum.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.testing.TestConfig;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class HealthCheckSettingsParserTest {
  private static final String POOL = "fulcrum.pools.web.backends = [\"127.0.0.1:9001\"]\n";

  private static HealthCheckSettings parse(String hocon) {
    return SettingsParser.parse(TestConfig.resolved(POOL + hocon)).pools().get(0).healthCheck();
  }

  @Test
  void defaultsAreAPlainGetWithTheBackendAsHost() {
    HealthCheckSettings check = parse("");
    assertEquals("GET", check.method());
    assertEquals(Optional.empty(), check.host());
    assertEquals(Map.of(), check.headers());
    // what the record's old constructor (and old journals) give: a pool defined before these keys is unchanged
    assertEquals(new HealthCheckSettings(HealthCheckSettings.Kind.HTTP, "/health", 200, Optional.empty(),
        Duration.ofSeconds(2), Duration.ofSeconds(1), 2, 3), check);
  }

  @Test
  void methodHostAndHeadersAreReadAndAPoolsHeadersAddToTheDefaults() {
    HealthCheckSettings check = parse("""
        fulcrum.health-check { method = HEAD, host = "health.internal:8080", headers { X-Check = fulcrum, "X-Env" = test } }
        fulcrum.pools.web.health-check.headers { X-Env = prod, Authorization = "Bearer a b" }
        """);
    assertEquals("HEAD", check.method());
    assertEquals(Optional.of("health.internal:8080"), check.host());
    assertEquals(Map.of("X-Check", "fulcrum", "X-Env", "prod", "Authorization", "Bearer a b"), check.headers());
  }

  @Test
  void aGrpcCheckNamesItsServiceOrNone() {
    HealthCheckSettings whole = parse("fulcrum.pools.web.health-check.type = grpc\n");
    assertEquals(HealthCheckSettings.Kind.GRPC, whole.kind());
    assertEquals("", whole.service());
    HealthCheckSettings one = parse("fulcrum.pools.web.health-check { type = grpc, service = \"grpc.testing.SimpleService\" }\n");
    assertEquals("grpc.testing.SimpleService", one.service());
    assertEquals("", parse("").service());
  }

  @Test
  void downAndFastIntervalsFollowTheIntervalUnlessSet() {
    HealthCheckSettings check = parse("fulcrum.health-check.interval = 3s");
    assertEquals(Optional.empty(), check.downInterval());
    assertEquals(Optional.empty(), check.fastInterval());
    assertEquals(Duration.ofSeconds(3), check.effectiveDownInterval());
    assertEquals(Duration.ofSeconds(3), check.effectiveFastInterval());

    HealthCheckSettings set = parse("""
        fulcrum.health-check { down-interval = 10s }
        fulcrum.pools.web.health-check { interval = 3s, fast-interval = 500ms }
        """);
    assertEquals(Duration.ofSeconds(10), set.effectiveDownInterval());
    assertEquals(Duration.ofMillis(500), set.effectiveFastInterval());
    assertEquals(Duration.ofMillis(500), set.shortestInterval());
  }

  @Test
  void theApiTakesAndShowsTheIntervalsAndAnUnsetOneFollowsANewInterval() {
    HealthCheckSettings current = parse("");
    HealthCheckSettings put = HealthCheckJson.parse("{\"down-interval\": \"15s\"}", current);
    assertEquals(Optional.of(Duration.ofSeconds(15)), put.downInterval());
    assertEquals("15000ms", HealthCheckJson.render(put).get("down-interval"));
    assertEquals("", HealthCheckJson.render(put).get("fast-interval"));
    HealthCheckSettings faster = HealthCheckJson.parse("{\"interval\": \"1s\"}", put);
    assertEquals(Duration.ofSeconds(1), faster.effectiveFastInterval(), "unset: follows the new interval");
    assertEquals(Duration.ofSeconds(15), faster.effectiveDownInterval(), "set: kept");
    String message = assertThrows(SettingsException.class,
        () -> HealthCheckJson.parse("{\"fast-interval\": \"0ms\"}", current)).getMessage();
    assertTrue(message.startsWith("field fast-interval: must be a positive duration"), message);
  }

  @Test
  void theApiRefusesAPathThatWouldBreakTheRequestLine() {
    String message = assertThrows(SettingsException.class,
        () -> HealthCheckJson.parse("{\"path\": \"/a b\"}", parse(""))).getMessage();
    assertTrue(message.startsWith("field path: '/a b' has a space"), message);
    assertEquals("/a%20b", HealthCheckJson.parse("{\"path\": \"/a%20b\"}", parse("")).path());
  }

  @Test
  void theApiRefusesAnIntervalThatWouldStopTheChecks() {
    String message = assertThrows(SettingsException.class,
        () -> HealthCheckJson.parse("{\"interval\": \"999999999d\"}", parse(""))).getMessage();
    assertTrue(message.startsWith("field interval: must be at most 1d"), message);
  }

  /** HOCON's coercions are for config files: a JSON client that sends "3" or 2.5 for a count has a bug of its own. */
  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', textBlock = """
      string for an integer  | {"rise": "3"}           | field rise: must be an integer, got the string "3"
      float for an integer   | {"fall": 2.5}           | field fall: must be an integer, got 2.5
      boolean for an integer | {"expect-status": true} | field expect-status: must be an integer, got true
      past 32 bits           | {"rise": 99999999999}   | field rise: 99999999999 is outside 1-100
      """)
  void theApiTakesNumbersOnlyAsJsonNumbers(String name, String body, String expected) {
    String message = assertThrows(SettingsException.class, () -> HealthCheckJson.parse(body, parse(""))).getMessage();
    assertEquals(expected, message);
    assertEquals(3, HealthCheckJson.parse("{\"rise\": 3}", parse("")).rise());
  }

  @Test
  void aConfigFileKeepsHoconsQuotedNumbersButNotFractions() {
    assertEquals(3, parse("fulcrum.health-check.rise = \"3\"").rise());
    String message = assertThrows(SettingsException.class, () -> parse("fulcrum.health-check.rise = 2.5")).getMessage();
    assertTrue(message.startsWith("fulcrum.health-check.rise: must be an integer, got 2.5"), message);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', textBlock = """
      method with a space | fulcrum.health-check.method = "GET /x"                  | fulcrum.health-check.method: 'GET /x' is not an HTTP method
      empty method        | fulcrum.pools.web.health-check.method = ""              | fulcrum.pools.web.health-check.method: '' is not an HTTP method
      path without slash  | fulcrum.health-check.path = health                     | fulcrum.health-check.path: must start with '/', got 'health'
      path with a space   | fulcrum.pools.web.health-check.path = "/a b"            | fulcrum.pools.web.health-check.path: '/a b' has a space, control or non-ASCII character
      path with CR LF     | fulcrum.health-check.path = "/h HTTP/1.1\\r\\nX: y"     | fulcrum.health-check.path: '/h HTTP/1.1
      non-ASCII path      | fulcrum.health-check.path = "/sant\u00e9"              | fulcrum.health-check.path: '/sant\u00e9' has a space
      host with a slash   | fulcrum.health-check.host = "a/b"                       | fulcrum.health-check.host: 'a/b' is not a host or host:port
      Host as a header    | fulcrum.health-check.headers.Host = x                   | fulcrum.health-check.headers.Host: 'Host' is written by the check itself; set host instead
      framing header      | fulcrum.pools.web.health-check.headers.Content-Length = 5 | fulcrum.pools.web.health-check.headers.Content-Length: 'Content-Length' is written by the check itself
      bad header name     | fulcrum.health-check.headers { "X Y" = z }              | fulcrum.health-check.headers.\"X Y\": 'X Y' is not a header field name
      header value CRLF   | fulcrum.health-check.headers.X-A = "a\\r\\nX-B: b"      | fulcrum.health-check.headers.X-A: the value of X-A has a control or non-Latin-1 character
      header as an object | fulcrum.health-check.headers.X.Y = z                    | fulcrum.health-check.headers.X: must be a string
      unknown type        | fulcrum.pools.web.health-check.type = ping              | fulcrum.pools.web.health-check.type: 'ping' is not a health check type (tcp, http, grpc)
      service off grpc    | fulcrum.pools.web.health-check.service = web.Api        | fulcrum.pools.web.health-check.service: only a check of type grpc names a service
      bad service name    | fulcrum.pools.web.health-check { type = grpc, service = "a b" } | fulcrum.pools.web.health-check.service: 'a b' is not a gRPC service name
      zero down interval  | fulcrum.pools.web.health-check.down-interval = 0s       | fulcrum.pools.web.health-check.down-interval: must be a positive duration
      negative fast       | fulcrum.health-check.fast-interval = -1s                | fulcrum.health-check.fast-interval: must be a positive duration
      not a duration      | fulcrum.pools.web.health-check.down-interval = soon     | fulcrum.pools.web.health-check.down-interval:
      absurd interval     | fulcrum.pools.web.health-check.interval = 999999999d   | fulcrum.pools.web.health-check.interval: must be at most 1d, got PT
      absurd timeout      | fulcrum.health-check.timeout = 2d                       | fulcrum.health-check.timeout: must be at most 1d, got PT48H
      """)
  void mistakesNameTheirPath(String name, String mistake, String expected) {
    String message = assertThrows(SettingsException.class, () -> parse(mistake)).getMessage();
    assertTrue(message.startsWith(expected), message);
  }
}
