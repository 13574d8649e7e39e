package dev.fulcrum.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

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
  void aClusterNodeOnARandomPortMustBeNamed() {
    String message = assertThrows(SettingsException.class,
        () -> nodeName("pekko.cluster.seed-nodes = [\"pekko://fulcrum@127.0.0.1:2551\"]\npekko.remote.artery.canonical.port = 0")).getMessage();
    assertEquals("fulcrum.node-name: must be set on a cluster node whose pekko.remote.artery.canonical.port is 0 (the name is this "
        + "node's own among the nodes sharing the journal; a random port is no name)", message);
    assertEquals("lb-2", nodeName("fulcrum.node-name = lb-2\npekko.cluster.seed-nodes = [\"pekko://fulcrum@127.0.0.1:2551\"]"));
    assertEquals("127.0.0.1:0", nodeName("pekko.remote.artery.canonical.port = 0"), "a lone node is the only one with its name");
  }
}
