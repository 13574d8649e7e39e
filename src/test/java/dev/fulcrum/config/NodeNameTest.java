package dev.fulcrum.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.fulcrum.Fulcrum;
import org.junit.jupiter.api.Test;

/** fulcrum.node-name: the cluster member's configured canonical host:port unless set; a bad one names the path. */
class NodeNameTest {
  private static String nodeName(String hocon) {
    return NodeName.parse(Fulcrum.withDefaults(ConfigFactory.parseString(hocon)));
  }

  @Test
  void defaultsToTheCanonicalHostAndPort() {
    assertEquals("10.0.0.7:25520", nodeName("pekko.remote.artery.canonical { hostname = \"10.0.0.7\", port = 25520 }"));
  }

  @Test
  void anExplicitNameWins() {
    assertEquals("lb-1", nodeName("fulcrum.node-name = \" lb-1 \"\npekko.remote.artery.canonical.port = 25520"));
  }

  @Test
  void aNameThePersistenceIdCannotHoldIsRefused() {
    String message = assertThrows(SettingsException.class, () -> nodeName("fulcrum.node-name = \"a|b\"")).getMessage();
    assertEquals("fulcrum.node-name: 'a|b' must have 1-200 characters, without control characters or '|'", message);
  }

  @Test
  void aClusterNodeOnPortZeroIsNamedByItsBoundPortALoneOneKeepsPortZero() {
    String joiner = "pekko.cluster.seed-nodes = [\"pekko://fulcrum@127.0.0.1:2551\"]\npekko.remote.artery.canonical.port = 0";
    assertTrue(NodeName.takesBoundPort(Fulcrum.withDefaults(ConfigFactory.parseString(joiner))));
    assertEquals("127.0.0.1:40123", NodeName.withBoundPort(Fulcrum.withDefaults(ConfigFactory.parseString(joiner)), 40123));
    assertFalse(NodeName.takesBoundPort(Fulcrum.withDefaults(ConfigFactory.parseString(joiner + "\nfulcrum.node-name = lb-2"))));
    assertFalse(NodeName.takesBoundPort(Fulcrum.withDefaults(ConfigFactory.parseString("pekko.remote.artery.canonical.port = 0"))));
    assertEquals("127.0.0.1:0", nodeName("pekko.remote.artery.canonical.port = 0"), "a lone node is the only one with its name");
  }
}
