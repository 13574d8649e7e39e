package dev.fulcrum.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.testing.PoolHealth;
import java.time.Duration;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;

/** Listener limits and malformed or ambiguous requests, sent byte for byte over raw sockets. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@OnBothEngines
class HttpLimitsTest {
  @Parameter String engine;

  private ActorSystem<Void> backends;
  private RecordingBackend web;
  private Fulcrum fulcrum;
  private int port;
  private int twoConnectionsPort;

  @BeforeParameterizedClassInvocation(injectArguments = false)
  void start() {
    backends = ActorSystem.create(Behaviors.empty(), "backends");
    web = new RecordingBackend(backends, "web");
    fulcrum = Fulcrum.start(ProxyTests.config(engine,
        """
        fulcrum.pools.web.backends = ["%s"]
        fulcrum.listeners.http.main {
          bind = "127.0.0.1:0"
          routes = [{pool = web}]
          limits { max-header-value-length = 1k, max-header-count = 20, max-uri-length = 1k, max-body-size = 1k }
        }
        fulcrum.listeners.http.two {
          bind = "127.0.0.1:0"
          routes = [{pool = web}]
          limits.max-connections = 2
        }
        """.formatted(web.address())));
    port = fulcrum.httpListener("main").localAddress().getPort();
    twoConnectionsPort = fulcrum.httpListener("two").localAddress().getPort();
    PoolHealth.awaitAllUp(fulcrum, "web", 1);
  }

  @AfterParameterizedClassInvocation(injectArguments = false)
  void stop() throws Exception {
    ProxyTests.stop(fulcrum, backends);
  }

  @BeforeEach
  void clear() {
    web.clear();
  }

  @Test
  void longHeaderValueGives431() {
    RawHttp.Response response = RawHttp.get(port, "x", "/", "X-Big: " + "a".repeat(2000));
    assertEquals(431, response.status());
    assertEquals(0, web.pending());
  }

  @Test
  void tooManyHeadersGives431() {
    String[] headers = new String[30];
    for (int i = 0; i < headers.length; i++) headers[i] = "X-H" + i + ": v";
    assertEquals(431, RawHttp.get(port, "x", "/", headers).status());
    assertEquals(0, web.pending());
  }

  @Test
  void longUriGives414() {
    assertEquals(414, RawHttp.get(port, "x", "/" + "a".repeat(2000)).status());
    assertEquals(0, web.pending());
  }

  @Test
  void declaredBodyOverTheLimitGives413WithoutForwarding() {
    String body = "b".repeat(2000);
    RawHttp.Response response = RawHttp.exchange(port,
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: " + body.length() + "\r\nConnection: close\r\n\r\n" + body);
    assertEquals(413, response.status());
    assertTrue(response.body().contains("larger than the limit of 1024 bytes"), response.body());
    assertEquals(0, web.pending());
  }

  @Test
  void chunkedBodyGrowingOverTheLimitGives413() {
    String chunk = "c".repeat(600);
    String chunked = Integer.toHexString(chunk.length()) + "\r\n" + chunk + "\r\n";
    RawHttp.Response response = RawHttp.exchange(port,
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            + chunked + chunked + "0\r\n\r\n");
    assertEquals(413, response.status());
  }

  @Test
  void bodyWithinTheLimitPasses() {
    RawHttp.Response response = RawHttp.exchange(port,
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
    assertEquals(200, response.status());
    assertEquals("hello", web.next().body());
  }

  @Test
  void declaredBodyOverTheLimitWithExpectGives413BeforeTheBodyIsSent() {
    // the body is never sent: the 413 must neither wait for it nor be preceded by a 100 Continue asking for it
    assertRefused(413, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\nExpect: 100-continue\r\n\r\n");
  }

  @Test
  void headerLineWithoutColonGives400AndClosesTheConnection() {
    assertRefused(400, "GET / HTTP/1.1\r\nHost: x\r\nThis is not a header\r\n\r\n");
  }

  @Test
  void nulInAHeaderValueGives400AndClosesTheConnection() {
    assertRefused(400, "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n");
  }

  @Test
  void tlsHandshakeOnThePlainPortIsRefusedAtOnce() {
    // a ClientHello's first bytes: no request line will ever end, so waiting for one would hold the connection
    String clientHello = "\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u0001\u00fc\u0003\u0003" + "\u0000".repeat(64);
    try (RawHttp http = new RawHttp(port)) {
      http.send(clientHello);
      assertEquals(400, http.read().status());
      assertTrue(http.closedByPeer());
    }
  }

  /** As nginx and Envoy: a Host whose port is not one in 0-65535 is a bad request, never forwarded. */
  @Test
  void hostWithAPortThatIsNotOneGives400() {
    assertRefused(400, "GET / HTTP/1.1\r\nHost: h:99999\r\n\r\n");
    assertRefused(400, "GET / HTTP/1.1\r\nHost: h:8o\r\n\r\n");
    assertRefused(400, "GET / HTTP/1.1\r\nHost: h:80:80\r\n\r\n");
    assertRefused(400, "GET / HTTP/1.1\r\nHost: a b\r\n\r\n");
  }

  @Test
  void brokenPercentEncodingInThePathGives400() {
    assertRefused(400, "GET /a%ZZb HTTP/1.1\r\nHost: x\r\n\r\n");
  }

  @Test
  void http2VersionGives505AndClosesTheConnection() {
    assertRefused(505, "GET / HTTP/2.0\r\nHost: x\r\n\r\n");
  }

  @Test
  void bareLineFeedsEndLinesLikeCrLf() {
    try (RawHttp http = new RawHttp(port)) {
      http.send("GET /lf HTTP/1.1\nHost: x\n\n");
      assertEquals(200, http.read().status());
      http.send("GET /crlf HTTP/1.1\r\nHost: x\r\n\r\n");
      assertEquals(200, http.read().status());
    }
    assertEquals("/lf", web.next().target());
    assertEquals("/crlf", web.next().target());
  }

  @Test
  void contentLengthWithTransferEncodingIsRefusedAndNotForwarded() {
    assertSmugglingRefused(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n");
    assertSmugglingRefused(
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n");
  }

  @Test
  void conflictingContentLengthsAreRefusedAndNotForwarded() {
    assertSmugglingRefused("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 40\r\n\r\nabcdGET /smuggled HTTP/1.1\r\n\r\n");
    assertSmugglingRefused("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4, 40\r\n\r\nabcdGET /smuggled HTTP/1.1\r\n\r\n");
  }

  @Test
  void signedContentLengthIsRefusedAndNotForwarded() {
    assertSmugglingRefused("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhelloGET /smuggled HTTP/1.1\r\n\r\n");
    assertSmugglingRefused("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\nhelloGET /smuggled HTTP/1.1\r\n\r\n");
  }

  @Test
  void obfuscatedTransferEncodingIsRefusedAndNotForwarded() {
    assertSmugglingRefused("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n");
    assertSmugglingRefused("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: xchunked\r\n\r\nabcd");
  }

  @Test
  void chunkedTwiceIsRefusedAndNotForwarded() {
    assertSmugglingRefused("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n");
    assertSmugglingRefused(
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n");
  }

  @Test
  void connectionsBeyondTheLimitWaitUntilOneCloses() {
    try (RawHttp first = new RawHttp(twoConnectionsPort); RawHttp second = new RawHttp(twoConnectionsPort)) {
      first.send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\n");
      assertEquals(200, first.read().status());
      second.send("GET /2 HTTP/1.1\r\nHost: x\r\n\r\n");
      assertEquals(200, second.read().status());
      try (RawHttp third = new RawHttp(twoConnectionsPort)) {
        third.send("GET /3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        assertFalse(third.answeredWithin(Duration.ofMillis(700)), "the third connection is not served yet");
        first.close();
        assertEquals(200, third.read().status());
      }
    }
    assertEquals("/1", web.next().target());
    assertEquals("/2", web.next().target());
    assertEquals("/3", web.next().target());
  }

  private void assertSmugglingRefused(String request) {
    assertRefused(400, request);
  }

  /** The request gets {@code status}, the connection is closed after it, and nothing reaches the backend. */
  private void assertRefused(int status, String request) {
    RawHttp.assertRefused(port, status, request);
    assertEquals(0, web.pending(), "nothing was forwarded for: " + request);
  }
}
