package dev.fulcrum.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.serialization.jackson.JacksonObjectMapperProvider;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** Health-check settings are journaled and replicated: the request fields survive, and old records still read. */
class HealthCheckSettingsSerializationTest {
  private static final ActorTestKit kit = ActorTestKit.create("health-check-serialization",
      ConfigFactory.parseResources("fulcrum-pekko.conf").withOnlyPath("pekko.actor.serialization-bindings")
          .withFallback(ConfigFactory.parseString("pekko.actor.provider = local")));

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  private static final HealthCheckSettings CHECK = new HealthCheckSettings(HealthCheckSettings.Kind.HTTP, "/health", 200,
          Optional.of("up"), Duration.ofSeconds(2), Duration.ofSeconds(1), 2, 3)
      .withRequest("HEAD", Optional.of("health.internal"), Map.of("X-Check", "fulcrum"));

  @Test
  void requestFieldsRoundTrip() throws Exception {
    ObjectMapper cbor = JacksonObjectMapperProvider.get(kit.system()).getOrCreate("jackson-cbor", Optional.empty());
    assertEquals(CHECK, cbor.readValue(cbor.writeValueAsBytes(CHECK), HealthCheckSettings.class));
  }

  @Test
  void aGrpcCheckRoundTripsWithItsService() throws Exception {
    ObjectMapper cbor = JacksonObjectMapperProvider.get(kit.system()).getOrCreate("jackson-cbor", Optional.empty());
    HealthCheckSettings grpc = CHECK.withGrpcService("grpc.testing.SimpleService");
    assertEquals(grpc, cbor.readValue(cbor.writeValueAsBytes(grpc), HealthCheckSettings.class));
  }

  @Test
  void downAndFastIntervalsRoundTripAndOldRecordsHaveNone() throws Exception {
    ObjectMapper cbor = JacksonObjectMapperProvider.get(kit.system()).getOrCreate("jackson-cbor", Optional.empty());
    HealthCheckSettings intervals = CHECK.withIntervals(Optional.of(Duration.ofSeconds(10)), Optional.of(Duration.ofMillis(500)));
    assertEquals(intervals, cbor.readValue(cbor.writeValueAsBytes(intervals), HealthCheckSettings.class));
    ObjectMapper json = JacksonObjectMapperProvider.get(kit.system()).getOrCreate("jackson-json", Optional.empty());
    ObjectNode old = json.valueToTree(intervals);
    old.remove("downInterval");
    old.remove("fastInterval");
    assertEquals(CHECK, json.treeToValue(old, HealthCheckSettings.class));
  }

  @Test
  void aRecordWrittenBeforeTheRequestFieldsReadsAsAPlainGet() throws Exception {
    ObjectMapper json = JacksonObjectMapperProvider.get(kit.system()).getOrCreate("jackson-json", Optional.empty());
    ObjectNode old = json.valueToTree(CHECK);
    old.remove("method");
    old.remove("host");
    old.remove("headers");
    old.remove("service");
    HealthCheckSettings read = json.treeToValue(old, HealthCheckSettings.class);
    assertEquals(new HealthCheckSettings(HealthCheckSettings.Kind.HTTP, "/health", 200, Optional.of("up"),
        Duration.ofSeconds(2), Duration.ofSeconds(1), 2, 3), read);
  }

  @Test
  void headerValuesStayOutOfLogs() {
    HealthCheckSettings secret = CHECK.withRequest("GET", Optional.empty(), Map.of("Authorization", "Bearer s3cret"));
    assertFalse(secret.toString().contains("s3cret"), secret.toString());
  }
}
