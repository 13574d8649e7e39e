package dev.fulcrum.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.testing.PoolHealth;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;

/** Routing by host and path, prefix rewriting, forwarding headers, header rules and the firewall, end to end. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@OnBothEngines
class HttpRoutingTest {
  @Parameter String engine;

  private ActorSystem<Void> backends;
  private RecordingBackend web;
  private RecordingBackend api;
  private RecordingBackend wild;
  private RecordingBackend admin;
  private Fulcrum fulcrum;
  private int port;
  private int guardedPort;
  private int oneHostPort;

  @BeforeParameterizedClassInvocation(injectArguments = false)
  void start() {
    backends = ActorSystem.create(Behaviors.empty(), "backends");
    web = new RecordingBackend(backends, "web");
    api = new RecordingBackend(backends, "api");
    wild = new RecordingBackend(backends, "wild");
    admin = new RecordingBackend(backends, "admin");
    fulcrum = Fulcrum.start(ProxyTests.config(engine,
        """
        fulcrum.pools {
          web.backends = ["%s"]
          api.backends = ["%s"]
          wild.backends = ["%s"]
          admin.backends = ["%s"]
        }
        fulcrum.listeners.http.main {
          bind = "127.0.0.1:0"
          routes = [
            {pool = web}
            {host = "api.example.com", pool = api}
            {host = "api.example.com", path = "/v1", pool = api, rewrite-prefix = "/internal/v1"}
            {host = "*.example.com", pool = wild}
            {path = "/strip", pool = web, rewrite-prefix = ""}
            {path = "/admin", pool = admin,
             request-headers { remove = ["X-Debug"], set { "X-Env" = "prod" }, add { "X-Tag" = "fulcrum" } }
             response-headers { remove = ["X-Internal"], set { "Cache-Control" = "no-store" }, add { "X-Served-By" = "fulcrum" } }
             firewall { deny-paths = ["/admin/secret*"] }
            }
          ]
        }
        fulcrum.listeners.http.one-host {
          bind = "127.0.0.1:0"
          routes = [{host = "only.example.com", pool = web}]
        }
        fulcrum.listeners.http.guarded {
          bind = "127.0.0.1:0"
          routes = [{pool = web}]
          firewall { allow = ["10.0.0.0/8", "::1/128"] }
        }
        """.formatted(web.address(), api.address(), wild.address(), admin.address())));
    port = fulcrum.httpListener("main").localAddress().getPort();
    guardedPort = fulcrum.httpListener("guarded").localAddress().getPort();
    oneHostPort = fulcrum.httpListener("one-host").localAddress().getPort();
    for (String pool : new String[] {"web", "api", "wild", "admin"}) {
      PoolHealth.awaitAllUp(fulcrum, pool, 1);
    }
  }

  @AfterParameterizedClassInvocation(injectArguments = false)
  void stop() throws Exception {
    ProxyTests.stop(fulcrum, backends);
  }

  @BeforeEach
  void clear() {
    for (RecordingBackend b : new RecordingBackend[] {web, api, wild, admin}) b.clear();
  }

  @Test
  void routesByExactHostThenWildcardThenAnyHost() {
    assertEquals("api", RawHttp.get(port, "api.example.com", "/x").body());
    assertEquals("/x", api.next().target());
    assertEquals("wild", RawHttp.get(port, "shop.example.com:8080", "/x").body());
    assertEquals("wild", RawHttp.get(port, "a.b.EXAMPLE.com", "/x").body());
    assertEquals("web", RawHttp.get(port, "example.com", "/x").body());
    assertEquals("web", RawHttp.get(port, "other.org", "/").body());
  }

  @Test
  void absoluteFormTargetIsRoutedAndForwardedInOriginForm() {
    RawHttp.Response response = RawHttp.exchange(port,
        "GET http://api.example.com/x?q=1 HTTP/1.1\r\nHost: api.example.com\r\nConnection: close\r\n\r\n");
    assertEquals("api", response.body());
    RecordingBackend.Received r = api.next();
    assertEquals("/x?q=1", r.target());
    assertEquals("api.example.com", r.header("Host"));
  }

  @Test
  void absoluteFormTargetAndHostHeaderThatDisagreeAreRefused() {
    try (RawHttp http = new RawHttp(port)) {
      http.send("GET http://api.example.com/x HTTP/1.1\r\nHost: other.org\r\n\r\n");
      assertEquals(400, http.read().status());
      assertTrue(http.closedByPeer());
    }
    assertEquals(0, api.pending() + web.pending());
  }

  @Test
  void longestPathPrefixWinsOnWholeSegments() {
    assertEquals("admin", RawHttp.get(port, "x", "/admin/users").body());
    assertEquals("admin", RawHttp.get(port, "x", "/admin").body());
    assertEquals("web", RawHttp.get(port, "x", "/administrator").body());
    assertEquals("/administrator", web.next().target());
  }

  @Test
  void rewritesAndStripsThePrefixKeepingTheQuery() {
    assertEquals(200, RawHttp.get(port, "api.example.com", "/v1/users?id=7").status());
    assertEquals("/internal/v1/users?id=7", api.next().target());
    assertEquals(200, RawHttp.get(port, "x", "/strip/a/b").status());
    assertEquals("/a/b", web.next().target());
    assertEquals(200, RawHttp.get(port, "x", "/strip").status());
    assertEquals("/", web.next().target());
  }

  @Test
  void unmatchedRequestGets404() {
    RawHttp.Response response = RawHttp.get(oneHostPort, "other.example.com", "/");
    assertEquals(404, response.status());
    assertTrue(response.body().contains("no route matched"), response.body());
    assertNotNull(response.header("X-Request-Id"));
    assertEquals(200, RawHttp.get(oneHostPort, "only.example.com", "/").status());
    web.next();
    assertEquals(0, web.pending());
  }

  @Test
  void addsForwardingHeadersAndDropsHopByHopOnes() {
    RawHttp.Response response = RawHttp.get(port, "site.org", "/fwd",
        "X-Forwarded-For: 203.0.113.9",
        "X-Forwarded-Proto: https",
        "Via: 1.0 edge",
        "Connection: X-Hop",
        "X-Hop: gone",
        "Keep-Alive: timeout=5",
        "TE: trailers",
        "Proxy-Authorization: Basic Zm9vOmJhcg==",
        "Upgrade: h2c");
    RecordingBackend.Received r = web.next();
    assertEquals("203.0.113.9, 127.0.0.1", r.header("X-Forwarded-For"));
    assertEquals("http", r.header("X-Forwarded-Proto"));
    assertEquals("site.org", r.header("X-Forwarded-Host"));
    assertEquals("site.org", r.header("Host"));
    assertEquals("1.0 edge, 1.1 fulcrum", r.header("Via"));
    for (String hop : new String[] {"X-Hop", "Keep-Alive", "TE", "Proxy-Authorization", "Upgrade"}) {
      assertNull(r.header(hop), hop + " must not be forwarded");
    }
    String id = r.header("X-Request-Id");
    assertNotNull(id);
    assertEquals(32, id.length());
    assertEquals(id, response.header("X-Request-Id"), "the generated id is passed back to the client");
    assertEquals("web", response.header("X-Backend"));
  }

  @Test
  void headResponseHasNoBodyAndTheConnectionStaysUsable() {
    try (RawHttp http = new RawHttp(port)) {
      http.send("HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n");
      RawHttp.Response head = http.readHead();
      assertEquals(200, head.status());
      assertEquals("3", head.header("Content-Length"), "the length of the body a GET would get");
      http.send("GET /g HTTP/1.1\r\nHost: x\r\n\r\n");
      assertEquals("web", http.read().body());
    }
    assertEquals("HEAD", web.next().method());
    assertEquals("/g", web.next().target());
  }

  @Test
  void expectContinueIsAnsweredByTheProxyAndNotForwarded() {
    try (RawHttp http = new RawHttp(port)) {
      http.send("POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
      assertEquals(100, http.readHead().status());
      http.send("body");
      assertEquals(200, http.read().status());
    }
    RecordingBackend.Received r = web.next();
    assertEquals("body", r.body());
    assertNull(r.header("Expect"));
  }

  @Test
  void keepsTheClientsRequestId() {
    RawHttp.Response response = RawHttp.get(port, "site.org", "/", "X-Request-Id: abc-123");
    assertEquals("abc-123", web.next().header("X-Request-Id"));
    assertEquals("abc-123", response.header("X-Request-Id"));
  }

  @Test
  void appliesRequestHeaderRules() {
    RawHttp.Response response = RawHttp.get(port, "x", "/admin/a", "X-Debug: 1", "X-Env: dev", "X-Tag: client");
    assertEquals(200, response.status());
    RecordingBackend.Received r = admin.next();
    assertNull(r.header("X-Debug"), "removed");
    assertEquals("prod", r.header("X-Env"), "set replaces the client's value");
    assertEquals("client, fulcrum", r.header("X-Tag"), "add appends");
  }

  @Test
  void appliesResponseHeaderRules() {
    RawHttp.Response response = RawHttp.get(port, "x", "/admin/a");
    assertNull(response.header("X-Internal"), "removed");
    assertEquals("no-store", response.header("Cache-Control"));
    assertEquals("fulcrum", response.header("X-Served-By"));
    assertEquals("admin", response.header("X-Backend"));
  }

  @Test
  void routeFirewallRefusesDeniedPaths() {
    RawHttp.Response response = RawHttp.get(port, "x", "/admin/secret/keys");
    assertEquals(403, response.status());
    assertTrue(response.body().contains("forbidden"), response.body());
    assertEquals(200, RawHttp.get(port, "x", "/admin/public").status());
    admin.next();
    assertEquals(0, admin.pending(), "the denied request never reached the backend");
  }

  @Test
  void listenerFirewallRefusesClientsOutsideTheAllowList() {
    RawHttp.Response response = RawHttp.get(guardedPort, "x", "/");
    assertEquals(403, response.status());
    assertEquals(0, web.pending());
  }

  @Test
  void dotSegmentsAreResolvedBeforeRoutingAndFirewall() {
    assertEquals(403, RawHttp.get(port, "x", "/public/../admin/secret").status());
    assertEquals(200, RawHttp.get(port, "x", "/public/../strip/a").status());
    assertEquals("/a", web.next().target());
  }
}
