package dev.fulcrum.routes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.ConfigFactory;
import dev.fulcrum.pool.PoolState.AppliedKey;
import java.util.List;
import java.util.Optional;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * A route table's state is replicated (Distributed Data, pushed to other nodes) and snapshotted with the origin of the
 * change that made its version; a state written before it had one (a snapshot, an older node's replica) reads with "".
 */
class RouteTableStateSerializationTest {
  private static final ActorTestKit kit = ActorTestKit.create("route-state-serialization",
      ConfigFactory.parseResources("fulcrum-pekko.conf").withOnlyPath("pekko.actor.serialization-bindings")
          .withFallback(ConfigFactory.parseString("pekko.actor.provider = local")));

  private static final RouteTableState STATE =
      new RouteTableState("main", 3, List.of(), List.of(new AppliedKey("k1", 2)), "admin-api 127.0.0.1");

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  @Test
  void theOriginTravelsWithTheState() {
    kit.serializationTestKit().verifySerialization(STATE, true);
    kit.serializationTestKit().verifySerialization(new RouteTableReplicator.Pushed(STATE), true);
  }

  @Test
  void aStateWrittenBeforeItHadAnOriginReadsWithNone() throws Exception {
    ObjectMapper cbor = org.apache.pekko.serialization.jackson.JacksonObjectMapperProvider.get(kit.system())
        .getOrCreate("jackson-cbor", Optional.empty());
    ObjectNode old = cbor.valueToTree(STATE);
    old.remove("origin");
    assertFalse(old.has("origin"));
    var serialization = SerializationExtension.get(kit.system().classicSystem());
    var serializer = serialization.findSerializerFor(STATE);
    RouteTableState read = (RouteTableState) serialization.deserialize(
        cbor.writeValueAsBytes(old), serializer.identifier(), Serializers.manifestFor(serializer, STATE)).get();
    assertEquals(new RouteTableState("main", 3, List.of(), List.of(new AppliedKey("k1", 2)), ""), read);
  }
}
