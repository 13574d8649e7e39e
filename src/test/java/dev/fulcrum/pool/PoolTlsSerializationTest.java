package dev.fulcrum.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.ConfigFactory;
import dev.fulcrum.config.BackendProtocol;
import dev.fulcrum.config.BackendSettings;
import dev.fulcrum.config.BackendTlsSettings;
import dev.fulcrum.config.HealthCheckSettings;
import dev.fulcrum.config.HostPort;
import dev.fulcrum.config.PoolSettings;
import dev.fulcrum.routing.StrategyKind;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * A pool's TLS to its backends and the protocol spoken on them are journaled and replicated: they survive the
 * journal's and Distributed Data's serialization as they are, and events and states written before pools had them
 * read back as plain HTTP/1.1 pools.
 */
class PoolTlsSerializationTest {
  private static final ActorTestKit kit = ActorTestKit.create("pool-tls-serialization",
      ConfigFactory.parseResources("fulcrum-pekko.conf").withOnlyPath("pekko.actor.serialization-bindings")
          .withFallback(ConfigFactory.parseString("pekko.actor.provider = local")));

  private static final HostPort A = HostPort.parse("127.0.0.1:9001", false);
  private static final HealthCheckSettings CHECK = new HealthCheckSettings(
      HealthCheckSettings.Kind.TCP, "/", 200, Optional.empty(), Duration.ofSeconds(2), Duration.ofSeconds(1), 2, 3);
  private static final BackendTlsSettings TLS = new BackendTlsSettings(Optional.of("certs/ca.pem"),
      Optional.of("api.internal"), false, Optional.of("/etc/client.pem"), Optional.of("/etc/client.key"), List.of("TLSv1.3"));
  private static final PoolSettings POOL =
      new PoolSettings("web", StrategyKind.ROUND_ROBIN, List.of(new BackendSettings(A, 2)), CHECK).withTls(Optional.of(TLS));
  private static final Instant NOW = Instant.parse("2026-01-02T03:04:05Z");

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  @Test
  void eventsAndStatesWithTlsRoundTrip() {
    kit.serializationTestKit().verifySerialization(new PoolEvent.PoolCreated(POOL, NOW, "admin-api 127.0.0.1"), true);
    kit.serializationTestKit().verifySerialization(new PoolEvent.TlsChanged(Optional.of(TLS), NOW, "java-api", "k1"), true);
    kit.serializationTestKit().verifySerialization(new PoolEvent.TlsChanged(Optional.empty(), NOW, "config"), true);
    kit.serializationTestKit().verifySerialization(new PoolState("web", 3, Optional.of(POOL)), true);
    kit.serializationTestKit().verifySerialization(new PoolEntity.History(List.of(
        new PoolEntity.Entry(7, new PoolEvent.TlsChanged(Optional.of(TLS), NOW, "java-api")))), true);
  }

  @Test
  void aFileNameIsKeptAsWrittenNotResolvedAgainstTheWritersDirectory() throws Exception {
    PoolEvent.TlsChanged read = roundTrip(new PoolEvent.TlsChanged(Optional.of(TLS), NOW, "java-api"));
    assertEquals(Optional.of("certs/ca.pem"), read.tls().orElseThrow().caFile());
  }

  @Test
  void anEventWrittenBeforePoolsHadTlsReadsAsAPlainPool() throws Exception {
    ObjectMapper cbor = org.apache.pekko.serialization.jackson.JacksonObjectMapperProvider.get(kit.system())
        .getOrCreate("jackson-cbor", Optional.empty());
    PoolEvent.PoolCreated plain = new PoolEvent.PoolCreated(POOL.withTls(Optional.empty()), NOW, "config");
    ObjectNode old = cbor.valueToTree(plain);
    ((ObjectNode) old.get("pool")).remove("tls");
    assertFalse(old.get("pool").has("tls"));
    PoolEvent.PoolCreated read = cbor.treeToValue(old, PoolEvent.PoolCreated.class);
    assertEquals(Optional.empty(), read.pool().tls());
    assertEquals(plain, read);
    // and through the serializer the journal uses, from the bytes such an event has in the journal
    PoolEvent.PoolCreated fromBytes = roundTripBytes(cbor.writeValueAsBytes(old), plain);
    assertEquals(plain, fromBytes);
    PoolState state = PoolState.empty("web").apply(fromBytes);
    assertTrue(state.pool().tls().isEmpty());
  }

  @Test
  void eventsAndStatesWithAProtocolRoundTrip() throws Exception {
    BackendProtocol h2 = new BackendProtocol(BackendProtocol.Kind.H2, 42);
    kit.serializationTestKit().verifySerialization(new PoolEvent.PoolCreated(POOL.withProtocol(h2), NOW, "java-api"), true);
    kit.serializationTestKit().verifySerialization(new PoolEvent.ProtocolChanged(h2, NOW, "admin-api 127.0.0.1", "k2"), true);
    kit.serializationTestKit().verifySerialization(new PoolState("web", 4, Optional.of(POOL.withProtocol(h2))), true);
    kit.serializationTestKit().verifySerialization(new PoolEntity.History(List.of(
        new PoolEntity.Entry(8, new PoolEvent.ProtocolChanged(h2, NOW, "java-api")))), true);
    assertEquals(h2, roundTrip(new PoolEvent.ProtocolChanged(h2, NOW, "java-api")).protocol());
  }

  @Test
  void aDefinitionWrittenBeforePoolsHadAProtocolReadsAsHttp11() throws Exception {
    ObjectMapper cbor = org.apache.pekko.serialization.jackson.JacksonObjectMapperProvider.get(kit.system())
        .getOrCreate("jackson-cbor", Optional.empty());
    PoolEvent.PoolCreated created = new PoolEvent.PoolCreated(POOL, NOW, "config");
    ObjectNode old = cbor.valueToTree(created);
    ((ObjectNode) old.get("pool")).remove("protocol");
    PoolEvent.PoolCreated fromBytes = roundTripBytes(cbor.writeValueAsBytes(old), created);
    assertEquals(BackendProtocol.HTTP_1_1, fromBytes.pool().protocol());
    assertEquals(created, fromBytes);
    ObjectNode oldState = cbor.valueToTree(new PoolState("web", 3, Optional.of(POOL)));
    ((ObjectNode) oldState.get("definition")).remove("protocol");
    assertFalse(oldState.get("definition").has("protocol"));
    PoolState state = roundTripBytes(cbor.writeValueAsBytes(oldState), new PoolState("web", 3, Optional.of(POOL)));
    assertEquals(BackendProtocol.HTTP_1_1, state.pool().protocol());
    // the other changes of such a pool keep it HTTP/1.1; a ProtocolChanged changes it
    PoolState changed = state.apply(new PoolEvent.BackendRemoved(A, NOW, "config"))
        .apply(new PoolEvent.ProtocolChanged(new BackendProtocol(BackendProtocol.Kind.H2C, 9), NOW, "config"))
        .apply(new PoolEvent.BackendAdded(A, 1, NOW, "config"));
    assertEquals(new BackendProtocol(BackendProtocol.Kind.H2C, 9), changed.pool().protocol());
  }

  @SuppressWarnings("unchecked")
  private static <T> T roundTrip(T value) throws Exception {
    var serialization = SerializationExtension.get(kit.system().classicSystem());
    byte[] bytes = serialization.serialize(value).get();
    var serializer = serialization.findSerializerFor(value);
    return (T) serialization.deserialize(bytes, serializer.identifier(), Serializers.manifestFor(serializer, value)).get();
  }

  @SuppressWarnings("unchecked")
  private static <T> T roundTripBytes(byte[] bytes, T like) throws Exception {
    var serialization = SerializationExtension.get(kit.system().classicSystem());
    var serializer = serialization.findSerializerFor(like);
    return (T) serialization.deserialize(bytes, serializer.identifier(), Serializers.manifestFor(serializer, like)).get();
  }
}
