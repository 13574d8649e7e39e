package dev.fulcrum.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fulcrum.backend.Health;
import dev.fulcrum.config.HostPort;
import dev.fulcrum.events.EventFilter;
import dev.fulcrum.events.FulcrumEvent;
import dev.fulcrum.pool.PoolEvent;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** How events look on the wire of GET /api/events, and what a filter lets through; no sockets. */
class EventEncodingTest {
  private static final Instant T = Instant.parse("2026-12-02T00:00:00Z");
  private static final HostPort B = new HostPort("127.0.0.1", 9001);

  /** The message's fields (in any order, as SSE allows), each given once. */
  private static Map<String, String> fields(FulcrumEvent event) {
    String text = EventStreamRoutes.encode(event).utf8String();
    assertTrue(text.endsWith("\n\n"), text);
    Map<String, String> fields = new LinkedHashMap<>();
    for (String line : text.substring(0, text.length() - 2).split("\n", -1)) {
      int colon = line.indexOf(':');
      assertTrue(colon > 0, "a field line: " + line);
      String value = line.substring(colon + 1);
      assertEquals(null, fields.put(line.substring(0, colon), value.startsWith(" ") ? value.substring(1) : value), text);
    }
    return fields;
  }

  private static JsonNode data(Map<String, String> fields) throws Exception {
    return Json.MAPPER.readTree(fields.get("data"));
  }

  @Test
  void aJournaledEventHasItsOffsetAsId() throws Exception {
    FulcrumEvent.PoolChanged changed = new FulcrumEvent.PoolChanged("web", 7, "drain-started", "admin-api 127.0.0.1",
        new PoolEvent.DrainStarted(B, T, "admin-api 127.0.0.1"), 43, T);
    Map<String, String> f = fields(changed);
    assertEquals(Set.of("id", "event", "data"), f.keySet());
    assertEquals("43", f.get("id"));
    assertEquals("pool-changed", f.get("event"));
    JsonNode d = data(f);
    assertEquals("pool-changed", d.get("kind").asText());
    assertEquals("web", d.get("pool").asText());
    assertEquals(7, d.get("version").asLong());
    assertEquals(43, d.get("offset").asLong());
    assertEquals("127.0.0.1:9001", d.get("event").get("address").asText());
    assertEquals("2026-12-02T00:00:00Z", d.get("time").asText());
  }

  @Test
  void aNodeLocalEventHasNoIdAndReadableFields() throws Exception {
    Map<String, String> health = fields(new FulcrumEvent.BackendHealthChanged("web", B, Health.UP, Health.DOWN, "refused\nby peer", T));
    assertEquals("backend-health", health.get("event"));
    assertEquals(Set.of("event", "data"), health.keySet(), "no id, and one data line: JSON escapes the newline");
    JsonNode d = data(health);
    assertEquals("up", d.get("from").asText());
    assertEquals("down", d.get("to").asText());
    assertEquals("refused\nby peer", d.get("reason").asText());
    JsonNode ejected = data(fields(new FulcrumEvent.BackendEjected("web", B, Duration.ofSeconds(30), "5 consecutive 5xx", T)));
    assertEquals("PT30S", ejected.get("duration").asText());
    assertEquals("backend-ejected", ejected.get("kind").asText());
    JsonNode dropped = data(fields(new FulcrumEvent.EventsDropped(3, 10, T)));
    assertEquals(3, dropped.get("count").asLong());
  }

  @Test
  void filtersKeepKindsAndPoolsAndAlwaysTellOfDrops() {
    FulcrumEvent web = new FulcrumEvent.BackendReturned("web", B, T);
    FulcrumEvent api = new FulcrumEvent.BackendReturned("api", B, T);
    FulcrumEvent member = new FulcrumEvent.MemberChanged("pekko://fulcrum@127.0.0.1:2552", "up", false, T);
    FulcrumEvent drops = new FulcrumEvent.EventsDropped(1, 1, T);
    EventFilter webOnly = EventFilter.ALL.withPools("web");
    assertTrue(webOnly.matches(web));
    assertFalse(webOnly.matches(api));
    assertTrue(webOnly.matches(member), "an event about no pool passes a pool filter");
    EventFilter returns = EventFilter.kinds(FulcrumEvent.Kind.BACKEND_RETURNED);
    assertTrue(returns.matches(api));
    assertFalse(returns.matches(member));
    assertTrue(returns.matches(drops));
    assertTrue(EventFilter.ALL.matches(member));
  }
}
