package dev.fulcrum.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.testing.PoolHealth;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;

/**
 * HTTP/1.x as clients and backends really speak it, sent byte for byte: HTTP/1.0, pipelining, chunked and
 * Content-Length bodies, responses without a body or without a length, and paths encoded to slip past the firewall.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@OnBothEngines
class HttpProtocolTest {
  @Parameter String engine;

  private ActorSystem<Void> backends;
  private RecordingBackend web;
  private RawBackend untilClose;
  private Fulcrum fulcrum;
  private int port;

  @BeforeParameterizedClassInvocation(injectArguments = false)
  void start() throws Exception {
    backends = ActorSystem.create(Behaviors.empty(), "backends");
    web = new RecordingBackend(backends, "web", HttpProtocolTest::answer);
    untilClose = new RawBackend(RawBackend.Behaviour.UNTIL_CLOSE);
    fulcrum = Fulcrum.start(ProxyTests.config(engine,
        """
        fulcrum.pools.web.backends = ["%s"]
        fulcrum.pools.until-close.backends = ["%s"]
        fulcrum.listeners.http.main {
          bind = "127.0.0.1:0"
          routes = [{pool = web}, {path = "/until-close", pool = until-close}, {path = "/as-sent", pool = web, forward-original-path = on}]
          firewall.deny-paths = ["/admin/*"]
        }
        """.formatted(web.address(), untilClose.address())));
    port = fulcrum.httpListener("main").localAddress().getPort();
    PoolHealth.awaitAllUp(fulcrum, "web", 1);
    PoolHealth.awaitAllUp(fulcrum, "until-close", 1);
  }

  @AfterParameterizedClassInvocation(injectArguments = false)
  void stop() throws Exception {
    ProxyTests.stop(fulcrum, backends);
    untilClose.close();
  }

  @BeforeEach
  void clear() {
    web.clear();
  }

  /** {@code /status/N} answers status N without a body; any other request, its target, to tell responses apart. */
  private static HttpResponse answer(HttpRequest request) {
    String target = RecordingBackend.target(request);
    if (target.startsWith("/status/")) return HttpResponse.create().withStatus(Integer.parseInt(target.substring(8)));
    return HttpResponse.create().withEntity(target);
  }

  @Test
  void http10KeepAliveServesTheNextRequestOnTheConnection() {
    try (RawHttp http = new RawHttp(port)) {
      http.send("GET /one HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n");
      RawHttp.Response first = http.read();
      assertEquals("/one", first.body());
      assertTrue("keep-alive".equalsIgnoreCase(first.header("Connection")), "an HTTP/1.0 client closes unless told: " + first);
      http.send("GET /two HTTP/1.0\r\nHost: x\r\n\r\n");
      assertEquals("/two", http.read().body());
      assertTrue(http.closedByPeer(), "the second request did not ask to keep the connection");
    }
  }

  @Test
  void pipelinedRequestsAreAnsweredInOrder() {
    try (RawHttp http = new RawHttp(port)) {
      http.send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\nGET /3 HTTP/1.1\r\nHost: x\r\n\r\n");
      for (String target : new String[] {"/1", "/2", "/3"}) assertEquals(target, http.read().body());
      assertNextRequestIsServed(http);
    }
  }

  @Test
  void chunkedBodyReachesTheBackendDecoded() {
    assertBodyReachesTheBackend("POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        + "5;name=value\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: t\r\n\r\n");
  }

  @Test
  void contentLengthBodyReachesTheBackend() {
    assertBodyReachesTheBackend("POST /sized HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world");
  }

  @Test
  void responsesWithoutABodyLeaveTheConnectionUsable() {
    try (RawHttp http = new RawHttp(port)) {
      http.send("GET /status/204 HTTP/1.1\r\nHost: x\r\n\r\n");
      assertEquals(204, http.read().status());
      http.send("GET /status/304 HTTP/1.1\r\nHost: x\r\n\r\n");
      assertEquals(304, http.read().status());
      assertNextRequestIsServed(http);
    }
  }

  @Test
  void responseWithoutALengthIsRelayedWholeAndEndsTheConnection() {
    try (RawHttp http = new RawHttp(port)) {
      http.send("GET /until-close HTTP/1.1\r\nHost: x\r\n\r\n");
      RawHttp.Response response = http.read();
      assertEquals(200, response.status());
      assertEquals(RawBackend.UNTIL_CLOSE_BODY, response.body());
      assertTrue(http.closedByPeer(), "the client can only tell where such a body ends by the close");
    }
  }

  @Test
  void noSpellingOfADeniedPathGetsPastTheFirewall() {
    String[] spellings = {
        "/admin/x", "/%61dmin/x", "/%61%64%6D%69%6E/x", "//admin/x", "/admin//x", "///admin///x", "/./admin/x",
        "/admin/./x", "/public/../admin/x", "/public/%2e%2e/admin/x", "/public/%2E%2E/admin/x", "/public/.%2e/admin/x",
        "/%2e/admin/x", "/admin%2Fx", "/admin%2fx", "/public/..%2Fadmin/x", "/public%2F..%2Fadmin/x",
        "/a/b/../../admin/x", "/../admin/x", "/admin/x/y/..", "/admin\\x", "/admin%5Cx", "/admin%00/x",
        "/public/..%2f%61dmin//x"};
    for (String target : spellings) {
      int status = RawHttp.get(port, "x", target).status();
      assertTrue(status == 403 || status == 400, target + " answered " + status);
    }
    assertEquals(0, web.pending(), "no spelling of a denied path was forwarded");
  }

  @Test
  void theBackendGetsThePathTheFirewallChecked() {
    assertEquals(200, RawHttp.get(port, "x", "//public/%7Euser/./a%2fb/../c%20d").status());
    assertEquals("/public/~user/a/c%20d", web.next().target());
  }

  @Test
  void aRouteForwardingPathsAsSentRefusesSpellingsItWouldHaveChanged() {
    assertEquals(200, RawHttp.get(port, "x", "/as-sent/a%20b").status());
    assertEquals("/as-sent/a%20b", web.next().target());
    for (String target : new String[] {"/as-sent//a", "/as-sent/%61", "/as-sent/a/../b", "/as-sent/a%2fb"}) {
      RawHttp.Response response = RawHttp.get(port, "x", target);
      assertEquals(400, response.status(), target + ": " + response.body());
    }
    assertEquals(0, web.pending());
  }

  /** The body of {@code request} reaches the backend as "hello world", and the connection serves the next request. */
  private void assertBodyReachesTheBackend(String request) {
    try (RawHttp http = new RawHttp(port)) {
      http.send(request);
      assertEquals(200, http.read().status());
      assertEquals("hello world", web.next().body());
      assertNextRequestIsServed(http);
    }
  }

  private static void assertNextRequestIsServed(RawHttp http) {
    http.send("GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
    RawHttp.Response next = http.read();
    assertEquals(200, next.status());
    assertEquals("/next", next.body());
  }
}
