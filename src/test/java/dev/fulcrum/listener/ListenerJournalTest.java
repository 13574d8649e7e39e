package dev.fulcrum.listener;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.fulcrum.Fulcrum;
import dev.fulcrum.pool.PoolEntity;
import dev.fulcrum.testing.NamedBackend;
import dev.fulcrum.testing.PoolHealth;
import dev.fulcrum.testing.RawHttp;
import dev.fulcrum.testing.TestConfig;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Listeners added and removed at runtime are journaled per node (fulcrum.node-name): a node restarted on the same
 * journal brings them back and they answer; one removed stays removed; one that cannot bind then is reported and
 * skipped while the node starts; with {@code bootstrap = config} the config's listeners are applied instead.
 */
class ListenerJournalTest {
  private static ActorTestKit kit;
  private static dev.fulcrum.testing.HttpBackend blue;
  @TempDir Path dir;
  private Fulcrum fulcrum;

  @BeforeAll
  static void backends() {
    kit = ActorTestKit.create("listener-journal-backends");
    blue = NamedBackend.start(kit.system(), "blue");
  }

  @AfterAll
  static void stopBackends() {
    kit.shutdownTestKit();
  }

  @AfterEach
  void stop() throws Exception {
    if (fulcrum != null) fulcrum.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  private Fulcrum start(String more) {
    Fulcrum node = Fulcrum.start(TestConfig.of(more + """

        pekko-persistence-jdbc.shared-databases.fulcrum.db.url = "%s"
        fulcrum.node-name = "node-a"
        fulcrum.pools.blue.backends = ["%s"]
        fulcrum.listeners.http.web { bind = "127.0.0.1:0", routes = [{pool = blue}] }
        """.formatted(TestConfig.fileJournalUrl(dir), blue.address())));
    PoolHealth.awaitAllUp(node, "blue", 1);
    return node;
  }

  private void restart(String more) throws Exception {
    fulcrum.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
    fulcrum = null;
    fulcrum = start(more);
  }

  private ListenerReply tell(ListenerCommand command) throws Exception {
    return fulcrum.listeners(command).toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  private List<String> names() {
    return fulcrum.listenerList().stream().map(ListenerReply.Added::name).sorted().toList();
  }

  /** The TCP listener relays to the blue backend: an HTTP request through it answers "blue". */
  private static String throughTcp(InetSocketAddress at) throws Exception {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", at.getPort()), 5000);
      s.setSoTimeout(10_000);
      s.getOutputStream().write("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      InputStream in = s.getInputStream();
      String response = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
      return response.substring(response.indexOf("\r\n\r\n") + 4);
    }
  }

  @Test
  void runtimeListenersComeBackAfterARestartAndRemovedOnesStayRemoved() throws Exception {
    fulcrum = start("");
    int tcpPort = TestConfig.freePort();
    assertInstanceOf(ListenerReply.Added.class, tell(new ListenerCommand.AddTcp(
        fulcrum.parseTcpListener("relay", "{bind = \"127.0.0.1:" + tcpPort + "\", pool = blue}"))));
    assertInstanceOf(ListenerReply.Added.class, tell(new ListenerCommand.AddHttp(
        fulcrum.parseHttpListener("extra", "{bind = \"127.0.0.1:0\", routes = [{pool = blue}]}"), PoolEntity.Request.javaApi())));
    assertInstanceOf(ListenerReply.Added.class, tell(new ListenerCommand.AddHttp(
        fulcrum.parseHttpListener("gone", "{bind = \"127.0.0.1:0\", routes = [{pool = blue}]}"), PoolEntity.Request.javaApi())));
    assertInstanceOf(ListenerReply.Removed.class, tell(new ListenerCommand.Remove("gone", Optional.empty())));
    assertEquals("blue", throughTcp(fulcrum.tcpListener("relay").localAddress()));

    ListAppender<ILoggingEvent> logs = new ListAppender<>();
    logs.start();
    ((Logger) LoggerFactory.getLogger(Fulcrum.class)).addAppender(logs);
    try {
      restart("");
    } finally {
      ((Logger) LoggerFactory.getLogger(Fulcrum.class)).detachAppender(logs);
    }
    assertEquals(List.of("extra", "relay", "web"), names(), "the journal's listeners, the removed one not");
    assertEquals(tcpPort, fulcrum.tcpListener("relay").localAddress().getPort());
    assertEquals("blue", throughTcp(fulcrum.tcpListener("relay").localAddress()), "the tcp listener is back and answers");
    assertEquals("blue", RawHttp.getOnce(fulcrum.httpListener("extra").localAddress().getPort(), "/"), "the http one too");
    List<String> warnings = logs.list.stream().map(ILoggingEvent::getFormattedMessage).filter(m -> m.contains("listener journal differs")).toList();
    assertEquals(1, warnings.size(), "warned once: " + logs.list);
    assertTrue(warnings.get(0).contains("tcp listener 'relay' is in the journal (added at runtime), not in config"), warnings.get(0));
    assertFalse(warnings.get(0).contains("'web'"), "the config's own listener came back from the journal unchanged: " + warnings.get(0));

    // a journaled listener whose port is taken at the next start: reported, skipped, the node starts
    try (ServerSocket taken = new ServerSocket()) {
      taken.setReuseAddress(true); // the relay's closed connections may linger in TIME_WAIT
      fulcrum.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
      fulcrum = null;
      taken.bind(new InetSocketAddress("127.0.0.1", tcpPort));
      ListAppender<ILoggingEvent> reports = new ListAppender<>();
      reports.start();
      ((Logger) LoggerFactory.getLogger(ListenerControl.class)).addAppender(reports);
      try {
        fulcrum = start("");
      } finally {
        ((Logger) LoggerFactory.getLogger(ListenerControl.class)).detachAppender(reports);
      }
      assertEquals(List.of("extra", "web"), names());
      assertTrue(reports.list.stream().anyMatch(e -> e.getFormattedMessage().startsWith("tcp listener relay from this node's listener "
          + "journal was not started: bind: cannot listen on 127.0.0.1:" + tcpPort)), "reported: " + reports.list);
      assertEquals("blue", RawHttp.getOnce(fulcrum.httpListener("web").localAddress().getPort(), "/"));
    }

    // bootstrap = config: the config's listeners only, applied as the journal's new state
    restart("fulcrum.journal.bootstrap = config\n");
    assertEquals(List.of("web"), names());
    restart("");
    assertEquals(List.of("web"), names(), "the config's set was journaled");
  }
}
