package dev.fulcrum.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fulcrum.Fulcrum;
import dev.fulcrum.testing.AdminClient;
import dev.fulcrum.testing.HttpBackend;
import dev.fulcrum.testing.NamedBackend;
import dev.fulcrum.testing.RawHttp;
import dev.fulcrum.testing.TestConfig;
import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/** Pools changed through the admin API survive a restart on the same H2 file: state, history and traffic. */
class PoolRestartTest {
  private static ActorTestKit backendsKit;
  private static HttpBackend b1;
  private static HttpBackend b2;
  private static HttpBackend b3;

  @BeforeAll
  static void startBackends() {
    backendsKit = ActorTestKit.create("restart-backends");
    b1 = NamedBackend.start(backendsKit.system(), "b1");
    b2 = NamedBackend.start(backendsKit.system(), "b2");
    b3 = NamedBackend.start(backendsKit.system(), "b3");
  }

  @AfterAll
  static void stopBackends() {
    backendsKit.shutdownTestKit();
  }

  private static Fulcrum start(Path dir) {
    return start(dir, "");
  }

  private static Fulcrum start(Path dir, String more) {
    return Fulcrum.start(TestConfig.of(more + """

        pekko-persistence-jdbc.shared-databases.fulcrum.db.url = "%s"
        fulcrum.journal.snapshot-every = 2
        fulcrum.health-check { interval = 200ms, timeout = 500ms, rise = 1, fall = 1 }
        fulcrum.pools.web.backends = ["%s", "%s"]
        fulcrum.listeners.tcp.main { bind = "127.0.0.1:0", pool = web }
        """.formatted(TestConfig.fileJournalUrl(dir), b1.address(), b2.address())));
  }

  private static void stop(Fulcrum fulcrum) throws Exception {
    fulcrum.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  /** The pool's definition as the API shows it, without this node's live view (health, connections). */
  private static JsonNode definition(AdminClient admin, String pool) {
    JsonNode json = admin.get("/api/pools/" + pool).json();
    json.get("backends").forEach(b -> ((ObjectNode) b).remove(List.of("health", "activeConnections")));
    return json;
  }

  private static Set<String> served(Fulcrum fulcrum, int connections) {
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < connections; i++) seen.add(RawHttp.getOnce(fulcrum.tcpListener("main").localAddress(), "/"));
    return seen;
  }

  @Test
  void stateHistoryAndTrafficSurviveARestart(@TempDir Path dir) throws Exception {
    Fulcrum first = start(dir);
    JsonNode web;
    JsonNode webEvents;
    JsonNode extra;
    JsonNode extraEvents;
    try {
      AdminClient admin = new AdminClient(first.adminAddress(), Optional.empty());
      assertEquals(201, admin.post("/api/pools/web/backends", "{\"address\":\"%s\",\"weight\":2}".formatted(b3.address())).status());
      assertEquals(204, admin.delete("/api/pools/web/backends/" + b1.address()).status());
      assertEquals(200, admin.patch("/api/pools/web/backends/" + b3.address(), "{\"weight\":5}").status());
      assertEquals(200, admin.patch("/api/pools/web/backends/" + b2.address(), "{\"admin\":\"draining\"}").status());
      assertEquals(201, admin.post("/api/pools", "{\"name\":\"extra\",\"backends\":[{\"address\":\"%s\"}]}".formatted(b1.address())).status());
      assertEquals(200, admin.patch("/api/pools/extra/backends/" + b1.address(), "{\"weight\":9}").status());
      assertEquals(201, admin.post("/api/pools", "{\"name\":\"gone\"}").status());
      assertEquals(204, admin.delete("/api/pools/gone").status());
      web = definition(admin, "web");
      webEvents = admin.get("/api/pools/web/events").json();
      extra = definition(admin, "extra");
      extraEvents = admin.get("/api/pools/extra/events").json();
      assertEquals(5, web.get("version").asLong());
      assertEquals(Set.of("b3"), served(first, 4));
    } finally {
      stop(first);
    }
    assertTrue(Files.list(dir).findAny().isPresent(), "the journal is a file in " + dir);

    ListAppender<ILoggingEvent> warnings = new ListAppender<>();
    warnings.start();
    Logger logger = (Logger) LoggerFactory.getLogger(PoolControl.class);
    logger.addAppender(warnings);
    Fulcrum second;
    try {
      second = start(dir);
    } finally {
      logger.detachAppender(warnings);
    }
    List<String> warned = warnings.list.stream().filter(e -> e.getLevel() == Level.WARN).map(ILoggingEvent::getFormattedMessage).toList();
    assertEquals(1, warned.size(), "one warning for the one pool whose journal differs from its config: " + warned);
    assertTrue(warned.get(0).startsWith("pool web: the journal (version 5) differs from the config: "), warned.get(0));
    for (String difference : List.of(
        "backend " + b3.address() + " is in the journal, not in config",
        "backend " + b1.address() + " is in config, not in the journal",
        "backend " + b2.address() + " is draining in the journal, active in config")) {
      assertTrue(warned.get(0).contains(difference), warned.get(0));
    }
    try {
      AdminClient admin = new AdminClient(second.adminAddress(), Optional.empty());
      assertEquals(web, definition(admin, "web"));
      assertEquals(webEvents, admin.get("/api/pools/web/events").json());
      assertEquals(extra, definition(admin, "extra"), "a pool created through the API, not in config, is recovered");
      assertEquals(extraEvents, admin.get("/api/pools/extra/events").json());
      assertEquals(404, admin.get("/api/pools/gone").status(), "a deleted pool stays deleted");
      assertEquals(Set.of("b3"), served(second, 4), "traffic follows the recovered state: b1 removed, b2 draining");
      assertEquals(200, admin.patch("/api/pools/web/backends/" + b2.address(), "{\"admin\":\"active\"}").status());
      assertEquals(Set.of("b2", "b3"), served(second, 4));
      assertEquals(6, admin.get("/api/pools/web").json().get("version").asLong(), "versions continue after the restart");
    } finally {
      stop(second);
    }

    Fulcrum third = start(dir, "fulcrum.journal.bootstrap = config");
    try {
      AdminClient admin = new AdminClient(third.adminAddress(), Optional.empty());
      JsonNode applied = definition(admin, "web");
      Set<String> backends = new HashSet<>();
      applied.get("backends").forEach(b -> backends.add(b.get("address").asText() + " " + b.get("weight").asInt() + " " + b.get("admin").asText()));
      assertEquals(Set.of(b1.address() + " 1 active", b2.address() + " 1 active"), backends, "bootstrap = config: the config wins");
      JsonNode events = admin.get("/api/pools/web/events?from=7").json();
      assertEquals(2, events.size(), events.toString());
      events.forEach(e -> assertEquals("config", e.get("origin").asText()));
      assertEquals(Set.of(b1.address(), b2.address()), served(third, 4).stream().map(name -> name.equals("b1") ? b1.address() : b2.address())
          .collect(java.util.stream.Collectors.toSet()));
    } finally {
      stop(third);
    }
  }
}
