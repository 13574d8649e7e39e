package dev.fulcrum.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.testing.FulcrumProcess;
import dev.fulcrum.testing.TestConfig;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** Every user mistake in the config stops start-up with one clear line on stderr and exit code 2, no stack trace. */
class InvalidConfigTest {
  private static final String VALID_POOL =
      "fulcrum.pools.web.backends = [\"127.0.0.1:9001\"]\nfulcrum.admin.bind = \"127.0.0.1:0\"\n";
  private static final String VALID_LISTENER = "fulcrum.listeners.tcp.main { bind = \"127.0.0.1:0\", pool = web }\n";

  @TempDir Path dir;

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', textBlock = """
      does not parse     | fulcrum { pools {                                                    | cannot read config
      bad port           | fulcrum.listeners.tcp.main { bind = "127.0.0.1:70000", pool = web }  | fulcrum.listeners.tcp.main.bind: '127.0.0.1:70000' has port 70000, outside 0-65535
      malformed address  | fulcrum.pools.web.backends = ["localhost"]                           | fulcrum.pools.web.backends: 'localhost' is not host:port
      unknown strategy   | fulcrum.pools.web.strategy = fastest                                 | fulcrum.pools.web.strategy: unknown strategy 'fastest' (known: round-robin
      duplicate backend  | fulcrum.pools.web.backends = ["127.0.0.1:9001", "127.0.0.1:9001"]    | fulcrum.pools.web.backends[1]: duplicate backend 127.0.0.1:9001
      negative interval  | fulcrum.pools.web.health-check.interval = -1s                        | fulcrum.pools.web.health-check.interval: must be a positive duration
      not a duration     | fulcrum.health-check.timeout = soon                                  | fulcrum.health-check.timeout: No number in duration value 'soon'
      weight too large   | fulcrum.pools.web.backends = [{address = "127.0.0.1:1", weight = 5000}] | fulcrum.pools.web.backends[0].weight: 5000 is outside 0-1000
      unknown pool       | fulcrum.listeners.tcp.main.pool = nope                               | fulcrum.listeners.tcp.main.pool: unknown pool 'nope' (defined: web)
      bad check type     | fulcrum.health-check.type = ping                                     | fulcrum.health-check.type: 'ping' is not a health check type (tcp, http, grpc)
      unknown tcp engine | fulcrum.listeners.tcp.main.engine = epoll                           | fulcrum.listeners.tcp.main.engine: 'epoll' is not a tcp engine (nio, streams)
      unknown http engine | fulcrum.listeners.http.h { bind = "127.0.0.1:0", routes = [{pool = web}], engine = netty } | fulcrum.listeners.http.h.engine: 'netty' is not an http engine (nio, pekko)
      negative loops     | fulcrum.event-loops = -1                                             | fulcrum.event-loops: -1 is outside 0-1024
      no event buffer    | fulcrum.events.buffer-size = 0                                       | fulcrum.events.buffer-size: 0 is outside 1-1000000
      zero heartbeat     | fulcrum.events.heartbeat = 0s                                        | fulcrum.events.heartbeat: must be a positive duration
      """)
  void mistakeIsReportedInOneLine(String name, String mistake, String expected) throws IOException {
    Path config = dir.resolve("bad.conf");
    Files.writeString(config, VALID_POOL + VALID_LISTENER + mistake + "\n");
    assertFailsWith(expected, "--config", config.toString());
  }

  @Test
  void missingFileIsReported() {
    assertFailsWith("config file nowhere.conf does not exist", "--config", "nowhere.conf");
  }

  @Test
  void unknownArgumentIsReported() {
    assertFailsWith("unknown argument '--verbose'", "--verbose");
  }

  @Test
  void portInUseIsReported() throws IOException {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      Path config = dir.resolve("busy.conf");
      Files.writeString(config, VALID_POOL
          + "fulcrum.listeners.tcp.main { bind = \"127.0.0.1:" + taken.getLocalPort() + "\", pool = web }\n");
      assertFailsWith("cannot start tcp listener 'main' on 127.0.0.1:" + taken.getLocalPort() + ": address already in use",
          "--config", config.toString());
    }
  }

  @Test
  void unreachableJournalDatabaseIsReportedAtOnce() throws IOException {
    int closed = TestConfig.freePort();
    Path config = dir.resolve("fulcrum.conf");
    Files.writeString(config, VALID_POOL + VALID_LISTENER
        + "include file(\"" + Path.of("cluster-configs", "postgres.conf").toAbsolutePath().toString().replace("\\", "/") + "\")\n"
        + "pekko-persistence-jdbc.shared-databases.fulcrum.db.url = \"jdbc:postgresql://127.0.0.1:" + closed + "/fulcrum\"\n");
    long start = System.nanoTime();
    assertFailsWith("cannot open the journal database jdbc:postgresql://127.0.0.1:" + closed + "/fulcrum", "--config", config.toString());
    assertTrue(System.nanoTime() - start < java.util.concurrent.TimeUnit.SECONDS.toNanos(20), "reported only after a wait");
  }

  private void assertFailsWith(String expected, String... args) {
    try (FulcrumProcess fulcrum = new FulcrumProcess(dir, args)) {
      assertEquals(2, fulcrum.awaitExit(60), fulcrum.stderr());
      List<String> lines = fulcrum.stderr().lines().filter(l -> !l.isBlank()).toList();
      assertEquals(1, lines.size(), "expected one line on stderr, got:\n" + fulcrum.stderr());
      assertTrue(lines.get(0).startsWith("fulcrum: "), lines.get(0));
      assertTrue(lines.get(0).contains(expected), "expected '" + expected + "' in: " + lines.get(0));
      assertFalse((fulcrum.stdout() + fulcrum.stderr()).contains("\tat "), "stack trace printed:\n" + fulcrum.stdout());
    }
  }
}
