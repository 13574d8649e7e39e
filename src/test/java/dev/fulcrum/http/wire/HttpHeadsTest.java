package dev.fulcrum.http.wire;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.config.HttpListenerSettings.HttpLimits;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class HttpHeadsTest {
  /** Small limits, so that the boundaries are cheap to reach. */
  private static final HttpLimits LIMITS = new HttpLimits(100, 10, 50, 1 << 20, 100);
  /** Where heads start in the test buffers: indices are absolute, not relative to the buffer's position. */
  private static final int AT = 7;

  // --- finding the end of a head ---

  static Stream<String> heads() {
    return Stream.of(
        "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.0\r\n\r\n",
        "GET / HTTP/1.1\nHost: a\n\n",
        "GET / HTTP/1.1\r\nHost: a\n\r\n",
        "GET / HTTP/1.1\nHost: a\r\n\n",
        "\r\n\r\n\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 204\r\n\r\n");
  }

  @ParameterizedTest
  @MethodSource("heads")
  void headEndFindsTheEmptyLineAndNothingBefore(String head) {
    for (boolean direct : new boolean[] {false, true}) {
      ByteBuffer buf = buffer(head + "GET /next HTTP/1.1\r\nHost: a\r\n\r\n", direct);
      int end = AT + head.length();
      assertEquals(end, HttpHeads.headEnd(buf, AT, buf.capacity()));
      for (int limit = AT; limit < end; limit++) assertEquals(-1, HttpHeads.headEnd(buf, AT, limit), "limit " + limit);
    }
  }

  @ParameterizedTest
  @MethodSource("heads")
  void headEndResumesAtEveryBytePosition(String head) {
    ByteBuffer buf = buffer(head, true);
    int end = AT + head.length();
    // one byte at a time, resuming 4 bytes back
    int from = AT;
    for (int limit = AT; limit <= end; limit++) {
      int found = HttpHeads.headEnd(buf, from, limit);
      if (limit < end) {
        assertEquals(-1, found, "limit " + limit);
        from = Math.max(AT, limit - 4);
      } else {
        assertEquals(end, found);
      }
    }
    // in two pieces split anywhere
    for (int split = AT; split < end; split++) {
      assertEquals(-1, HttpHeads.headEnd(buf, AT, split));
      assertEquals(end, HttpHeads.headEnd(buf, Math.max(AT, split - 4), end), "split at " + split);
    }
  }

  @Test
  void aLoneCrIsNoLineEnd() {
    ByteBuffer buf = buffer("GET / HTTP/1.1\r\nHost: a\r\r\r\r", false);
    assertEquals(-1, HttpHeads.headEnd(buf, AT, buf.capacity()));
  }

  @Test
  void buffersKeepTheirPositionAndLimit() throws Exception {
    String head = "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (boolean direct : new boolean[] {false, true}) {
      ByteBuffer buf = buffer(head, direct);
      buf.position(3);
      int end = HttpHeads.headEnd(buf, AT, buf.capacity());
      HttpHeads.parseRequest(buf, AT, end, LIMITS);
      assertEquals(3, buf.position());
      assertEquals(buf.capacity(), buf.limit());
    }
  }

  // --- requests ---

  @Test
  void parsesARequest() throws Exception {
    RequestHead head = request(
        "GET /path?q=1 HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: wrk\r\nX-Custom:   spaced\t value \t\r\n"
            + "x-empty:\r\nAccept: */*\r\n\r\n");
    assertEquals("GET", head.method());
    assertEquals("/path?q=1", head.target());
    assertEquals(1, head.minorVersion());
    assertEquals(
        List.of("Host=example.com:8080", "User-Agent=wrk", "X-Custom=spaced\t value", "x-empty=", "Accept=*/*"),
        fields(head.headers()));
    assertEquals(-1, head.contentLength());
    assertFalse(head.chunked());
    assertFalse(head.hasBody());
    assertTrue(head.keepAlive());
    assertFalse(head.expectContinue());
    assertFalse(head.webSocketUpgrade());
  }

  @Test
  void heapAndDirectBuffersParseAlike() throws Exception {
    String text = "PATCH /a HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\nX-Y: z\r\n\r\n";
    List<String> seen = new ArrayList<>();
    for (boolean direct : new boolean[] {false, true}) {
      ByteBuffer buf = buffer(text, direct);
      RequestHead head = (RequestHead) HttpHeads.parseRequest(buf, AT, AT + text.length(), LIMITS);
      seen.add(head.method() + head.target() + head.contentLength() + fields(head.headers()));
    }
    assertEquals(seen.get(0), seen.get(1));
    assertEquals("PATCH/a12[Host=h, Content-Length=12, X-Y=z]", seen.get(0));
  }

  @Test
  void fieldNamesKeepTheirCase() throws Exception {
    RequestHead head = request("GET / HTTP/1.1\r\nHOST: a\r\nhost-name: b\r\ncontent-length: 0\r\n\r\n");
    assertEquals(List.of("HOST=a", "host-name=b", "content-length=0"), fields(head.headers()));
    assertEquals(0, head.contentLength());
  }

  @Test
  void obsTextInValuesIsLatin1() throws Exception {
    RequestHead head = request("GET / HTTP/1.1\r\nHost: a\r\nX-Name: caf\u00e9 \u00ff\r\n\r\n");
    assertEquals("caf\u00e9 \u00ff", head.headers().get("x-name"));
  }

  @Test
  void emptyLinesBeforeTheRequestLineAreSkipped() throws Exception {
    assertEquals("/a", request("\r\nGET /a HTTP/1.1\r\nHost: a\r\n\r\n").target());
    assertEquals("/b", request("\r\n\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n").target());
  }

  @Test
  void bareLfLineEnds() throws Exception {
    RequestHead head = request("GET / HTTP/1.1\nHost: a\r\nX: 1\n\n");
    assertEquals(List.of("Host=a", "X=1"), fields(head.headers()));
  }

  @Test
  void otherTargetForms() throws Exception {
    assertEquals("*", request("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n").target());
    assertEquals("http://a/b", request("GET http://a/b HTTP/1.1\r\nHost: a\r\n\r\n").target());
    assertEquals("PROPFIND", request("PROPFIND / HTTP/1.1\r\nHost: a\r\n\r\n").method());
  }

  @ParameterizedTest
  @ValueSource(strings = {"example.com", "Example.COM:8080", "127.0.0.1:80", "[::1]:8080", "[fe80::1%25eth0]",
      "a_b-c.example", "xn--caf-dma.example", "a.example.", ""})
  void hostsOfEveryRfc3986FormAreAccepted(String host) throws Exception {
    assertEquals(host, request("GET / HTTP/1.1\r\nHost: " + host + "\r\n\r\n").headers().get("Host"));
  }

  @Test
  void http10NeedsNoHost() throws Exception {
    RequestHead head = request("GET / HTTP/1.0\r\n\r\n");
    assertEquals(0, head.minorVersion());
    assertFalse(head.keepAlive());
  }

  @Test
  void bodies() throws Exception {
    RequestHead sized = request("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 42\r\n\r\n");
    assertEquals(42, sized.contentLength());
    assertTrue(sized.hasBody());
    assertFalse(request("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n").hasBody());
    RequestHead chunked = request("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
    assertTrue(chunked.chunked());
    assertEquals(-1, chunked.contentLength());
    assertTrue(chunked.hasBody());
    assertEquals(
        Long.MAX_VALUE,
        request("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: " + Long.MAX_VALUE + "\r\n\r\n").contentLength());
  }

  @ParameterizedTest
  @ValueSource(strings = {"chunked", "Chunked", "CHUNKED", "\tchunked", " chunked  "})
  void chunkedIsCaseInsensitiveWithOptionalWhitespace(String value) throws Exception {
    assertTrue(request("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:" + value + "\r\n\r\n").chunked());
  }

  @Test
  void identicalContentLengthsBecomeOne() throws Exception {
    RequestHead listed = request("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\nX: y\r\n\r\n");
    assertEquals(5, listed.contentLength());
    assertEquals(List.of("Host=a", "X=y", "Content-Length=5"), fields(listed.headers()));
    RequestHead repeated = request("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 7\r\ncontent-length: 7\r\n\r\n");
    assertEquals(7, repeated.contentLength());
    assertEquals(1, repeated.headers().count("Content-Length"));
  }

  @ParameterizedTest
  @MethodSource
  void keepAlive(String version, String connection, boolean keepAlive) throws Exception {
    String host = version.equals("1.1") ? "Host: a\r\n" : "";
    assertEquals(keepAlive, request("GET / HTTP/" + version + "\r\n" + host + connection + "\r\n").keepAlive());
  }

  static Stream<Arguments> keepAlive() {
    return Stream.of(
        Arguments.of("1.1", "", true),
        Arguments.of("1.1", "Connection: keep-alive\r\n", true),
        Arguments.of("1.1", "Connection: close\r\n", false),
        Arguments.of("1.1", "Connection: Close\r\n", false),
        Arguments.of("1.1", "Connection: upgrade, close\r\n", false),
        Arguments.of("1.1", "Connection: keep-alive\r\nConnection: close\r\n", false),
        Arguments.of("1.1", "Connection: closed\r\n", true),
        Arguments.of("1.0", "", false),
        Arguments.of("1.0", "Connection: Keep-Alive\r\n", true),
        Arguments.of("1.0", "Connection: x, keep-alive \r\n", true),
        Arguments.of("1.0", "Connection: keep-alive, close\r\n", false));
  }

  @Test
  void expectContinue() throws Exception {
    assertTrue(request("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n")
        .expectContinue());
    assertTrue(request("POST / HTTP/1.1\r\nHost: a\r\nexpect: 100-Continue\r\n\r\n").expectContinue());
    // RFC 9110 §10.1.1: not for HTTP/1.0
    assertFalse(request("POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n").expectContinue());
  }

  @ParameterizedTest
  @MethodSource
  void webSocketUpgrade(String head, boolean upgrade) throws Exception {
    assertEquals(upgrade, request(head).webSocketUpgrade());
  }

  static Stream<Arguments> webSocketUpgrade() {
    String ws = "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
    return Stream.of(
        Arguments.of("GET /ws HTTP/1.1\r\nHost: a\r\n" + ws, true),
        Arguments.of("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, upgrade\r\nUpgrade: WebSocket\r\n\r\n", true),
        Arguments.of("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: x\r\nConnection: upgrade\r\nUpgrade: h2c, websocket\r\n\r\n", true),
        Arguments.of("POST /ws HTTP/1.1\r\nHost: a\r\n" + ws, false),
        Arguments.of("GET /ws HTTP/1.0\r\n" + ws, false),
        Arguments.of("GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n", false),
        Arguments.of("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: h2c\r\n\r\n", false));
  }

  @Test
  void limitsAreInclusive() throws Exception {
    StringBuilder fields = new StringBuilder("Host: a\r\n");
    for (int i = 1; i < LIMITS.maxHeaderCount(); i++) fields.append("X-").append(i).append(": v\r\n");
    assertEquals(10, request("GET / HTTP/1.1\r\n" + fields + "\r\n").headers().size());
    assertEquals(100, request("GET / HTTP/1.1\r\nHost: a\r\nX: " + "v".repeat(100) + "\r\n\r\n")
        .headers().get("X").length());
    assertEquals(50, request("GET /" + "a".repeat(49) + " HTTP/1.1\r\nHost: a\r\n\r\n").target().length());
    // trailing whitespace is not part of a value, so it does not count
    assertEquals(100, request("GET / HTTP/1.1\r\nHost: a\r\nX: " + "v".repeat(100) + "   \r\n\r\n")
        .headers().get("X").length());
  }

  @Test
  void tooMuch() {
    StringBuilder fields = new StringBuilder("Host: a\r\n");
    for (int i = 1; i <= LIMITS.maxHeaderCount(); i++) fields.append("X-").append(i).append(": v\r\n");
    assertRequestFails(431, "GET / HTTP/1.1\r\n" + fields + "\r\n", "more than 10 header fields");
    assertRequestFails(431, "GET / HTTP/1.1\r\nHost: a\r\nX: " + "v".repeat(101) + "\r\n\r\n", "longer than 100 bytes");
    assertRequestFails(414, "GET /" + "a".repeat(50) + " HTTP/1.1\r\nHost: a\r\n\r\n", "longer than 50 bytes");
  }

  /** The one rule for Host and HTTP/2's :authority (H2ServerConnection asks it too): a host, then a port of 0-65535. */
  @Test
  void hostRuleTakesHostsAndPortsAndNamesWhatIsWrong() {
    for (String good : List.of("a", "a.example", "a:80", "a:", "a:0", "a:65535", "a:08080", "127.0.0.1:8080", "[::1]", "[::1]:8080",
        "[::1]:", "[fe80::1%25eth0]:80", "xn--caf-dma.example")) {
      assertNull(HttpHeads.hostProblem(good), good);
      assertTrue(HttpHeads.validHost(good), good);
      ParsedRequest parsed = parse("GET / HTTP/1.1\r\nHost: " + good + "\r\n\r\n");
      assertFalse(parsed instanceof WireError, good + ": " + parsed);
    }
    assertEquals("port out of range 0-65535", HttpHeads.hostProblem("h:99999"));
    assertEquals("port out of range 0-65535", HttpHeads.hostProblem("h:65536"));
    assertEquals("port out of range 0-65535", HttpHeads.hostProblem("[::1]:70000"));
    assertEquals("invalid port", HttpHeads.hostProblem("h:8o"));
    assertEquals("invalid port", HttpHeads.hostProblem("h:+80"));
    assertEquals("more than one ':' (an IPv6 address goes in brackets)", HttpHeads.hostProblem("::1"));
    assertEquals("unclosed '[' of an IP literal", HttpHeads.hostProblem("[::1"));
    assertEquals("invalid character after the IP literal", HttpHeads.hostProblem("[::1]80"));
    assertEquals("invalid character", HttpHeads.hostProblem("a b"));
    assertEquals("invalid character", HttpHeads.hostProblem("caf\u00e9.example"));
    assertEquals("invalid character", HttpHeads.hostProblem("\u0100"));
    assertFalse(HttpHeads.validHost("h:99999"));
    WireError refused = assertInstanceOf(WireError.class, parse("GET / HTTP/1.1\r\nHost: h:99999\r\n\r\n"));
    assertEquals("port out of range 0-65535 in the Host header", refused.problem());
  }

  private static ParsedRequest parse(String text) {
    ByteBuffer buf = buffer(text, false);
    return HttpHeads.parseRequest(buf, AT, buf.capacity(), LIMITS);
  }

  @ParameterizedTest(name = "[{index}] {0} {1}")
  @MethodSource
  void badRequests(int status, String head) {
    assertRequestFails(status, head, "");
  }

  static Stream<Arguments> badRequests() {
    String h = "Host: a\r\n";
    return Stream.of(
        // request line
        Arguments.of(400, "GET  / HTTP/1.1\r\n" + h + "\r\n"),
        Arguments.of(400, "GET /  HTTP/1.1\r\n" + h + "\r\n"),
        Arguments.of(400, " GET / HTTP/1.1\r\n" + h + "\r\n"),
        Arguments.of(400, "GET\t/ HTTP/1.1\r\n" + h + "\r\n"),
        Arguments.of(400, "GET / HTTP/1.1 \r\n" + h + "\r\n"),
        Arguments.of(400, "GET /\r\n" + h + "\r\n"),
        Arguments.of(400, "GET\r\n" + h + "\r\n"),
        Arguments.of(400, "G(T / HTTP/1.1\r\n" + h + "\r\n"),
        Arguments.of(400, "G\u00c9T / HTTP/1.1\r\n" + h + "\r\n"),
        Arguments.of(400, "GET /a\u0001b HTTP/1.1\r\n" + h + "\r\n"),
        Arguments.of(400, "GET /a\u007fb HTTP/1.1\r\n" + h + "\r\n"),
        Arguments.of(400, "GET /caf\u00e9 HTTP/1.1\r\n" + h + "\r\n"),
        Arguments.of(400, "GET /a\rb HTTP/1.1\r\n" + h + "\r\n"),
        Arguments.of(400, "GET / http/1.1\r\n" + h + "\r\n"),
        Arguments.of(400, "GET / HTTP/1.1x\r\n" + h + "\r\n"),
        Arguments.of(400, "GET / HTTP/11\r\n" + h + "\r\n"),
        Arguments.of(400, "GET / HTTP/1.a\r\n" + h + "\r\n"),
        Arguments.of(400, "GET / HTTP/1.1\r\r\n" + h + "\r\n"),
        Arguments.of(400, "\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u00fc\u0003\u0003\r\n\r\n"),
        Arguments.of(505, "GET / HTTP/2.0\r\n" + h + "\r\n"),
        Arguments.of(505, "GET / HTTP/1.2\r\n" + h + "\r\n"),
        Arguments.of(505, "GET / HTTP/0.9\r\n" + h + "\r\n"),
        Arguments.of(501, "CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n"),
        Arguments.of(400, "GET * HTTP/1.1\r\n" + h + "\r\n"),
        // field lines
        Arguments.of(400, "GET / HTTP/1.1\r\n" + h + "X: a\r\n folded\r\n\r\n"),
        Arguments.of(400, "GET / HTTP/1.1\r\n" + h + "X: a\r\n\tfolded\r\n\r\n"),
        Arguments.of(400, "GET / HTTP/1.1\r\n " + h + "\r\n"),
        Arguments.of(400, "GET / HTTP/1.1\r\n" + h + "NoColon\r\n\r\n"),
        Arguments.of(400, "GET / HTTP/1.1\r\n" + h + "No Colon\r\n\r\n"),
        Arguments.of(400, "GET / HTTP/1.1\r\n" + h + "X-A : b\r\n\r\n"),
        Arguments.of(400, "GET / HTTP/1.1\r\n" + h + "X-A\t: b\r\n\r\n"),
        Arguments.of(400, "GET / HTTP/1.1\r\n" + h + ": b\r\n\r\n"),
        Arguments.of(400, "GET / HTTP/1.1\r\n" + h + "X(A): b\r\n\r\n"),
        Arguments.of(400, "GET / HTTP/1.1\r\n" + h + "X\u00e9: b\r\n\r\n"),
        Arguments.of(400, "GET / HTTP/1.1\r\n" + h + "X: a\u0000b\r\n\r\n"),
        Arguments.of(400, "GET / HTTP/1.1\r\n" + h + "X: a\rb\r\n\r\n"),
        Arguments.of(400, "GET / HTTP/1.1\r\n" + h + "X: a\u007f\r\n\r\n"),
        Arguments.of(400, "GET / HTTP/1.1\r\n" + h + "X: \u000ba\r\n\r\n"),
        Arguments.of(400, "GET / HTTP/1.1\r\n" + h + "X: a\u001b[0m\r\n\r\n"),
        Arguments.of(400, "GET / HTTP/1.1\r\n" + h + "X: a\r\r\nY: b\r\n\r\n"),
        // Host
        Arguments.of(400, "GET / HTTP/1.1\r\n\r\n"),
        Arguments.of(400, "GET / HTTP/1.1\r\nX: y\r\n\r\n"),
        Arguments.of(400, "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n"),
        Arguments.of(400, "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"),
        Arguments.of(400, "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"),
        // a Host the backend or a route could read as another host than the proxy routed by (nginx: 400)
        Arguments.of(400, "GET / HTTP/1.1\r\nHost: a b\r\n\r\n"),
        Arguments.of(400, "GET / HTTP/1.1\r\nHost: evil@a\r\n\r\n"),
        Arguments.of(400, "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"),
        Arguments.of(400, "GET / HTTP/1.1\r\nHost: a\\b\r\n\r\n"),
        Arguments.of(400, "GET / HTTP/1.1\r\nHost: a?b\r\n\r\n"),
        Arguments.of(400, "GET / HTTP/1.1\r\nHost: a#b\r\n\r\n"),
        Arguments.of(400, "GET / HTTP/1.1\r\nHost: caf\u00e9.example\r\n\r\n"),
        Arguments.of(400, "GET / HTTP/1.1\r\nHost: a\tb\r\n\r\n"),
        // a port that is not one (RFC 3986 §3.2.3): nginx and Envoy answer 400 too
        Arguments.of(400, "GET / HTTP/1.1\r\nHost: h:99999\r\n\r\n"),
        Arguments.of(400, "GET / HTTP/1.1\r\nHost: h:65536\r\n\r\n"),
        Arguments.of(400, "GET / HTTP/1.1\r\nHost: h:8o\r\n\r\n"),
        Arguments.of(400, "GET / HTTP/1.1\r\nHost: h:-1\r\n\r\n"),
        Arguments.of(400, "GET / HTTP/1.1\r\nHost: h:99999999999999999999\r\n\r\n"),
        Arguments.of(400, "GET / HTTP/1.1\r\nHost: h:80:80\r\n\r\n"),
        Arguments.of(400, "GET / HTTP/1.1\r\nHost: ::1\r\n\r\n"),
        Arguments.of(400, "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n"),
        Arguments.of(400, "GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n"),
        Arguments.of(400, "GET / HTTP/1.1\r\nHost: [::1]:99999\r\n\r\n"),
        Arguments.of(400, "GET / HTTP/1.1\r\nHost: a]\r\n\r\n"),
        // Content-Length
        Arguments.of(400, "POST / HTTP/1.1\r\n" + h + "Content-Length: +5\r\n\r\n"),
        Arguments.of(400, "POST / HTTP/1.1\r\n" + h + "Content-Length: -5\r\n\r\n"),
        Arguments.of(400, "POST / HTTP/1.1\r\n" + h + "Content-Length: 5a\r\n\r\n"),
        Arguments.of(400, "POST / HTTP/1.1\r\n" + h + "Content-Length: 0x10\r\n\r\n"),
        Arguments.of(400, "POST / HTTP/1.1\r\n" + h + "Content-Length: 1 0\r\n\r\n"),
        Arguments.of(400, "POST / HTTP/1.1\r\n" + h + "Content-Length: 1.0\r\n\r\n"),
        Arguments.of(400, "POST / HTTP/1.1\r\n" + h + "Content-Length:\r\n\r\n"),
        Arguments.of(400, "POST / HTTP/1.1\r\n" + h + "Content-Length: 5,\r\n\r\n"),
        Arguments.of(400, "POST / HTTP/1.1\r\n" + h + "Content-Length: ,5\r\n\r\n"),
        Arguments.of(400, "POST / HTTP/1.1\r\n" + h + "Content-Length: 1, 2\r\n\r\n"),
        Arguments.of(400, "POST / HTTP/1.1\r\n" + h + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n"),
        Arguments.of(400, "POST / HTTP/1.1\r\n" + h + "Content-Length: 9223372036854775808\r\n\r\n"),
        Arguments.of(400, "POST / HTTP/1.1\r\n" + h + "Content-Length: 99999999999999999999999\r\n\r\n"),
        Arguments.of(400, "POST / HTTP/1.1\r\n" + h + "Content-Length: \u00b9\r\n\r\n"),
        // Transfer-Encoding
        Arguments.of(400, "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n"),
        Arguments.of(400, "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
        Arguments.of(400, "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"),
        Arguments.of(400, "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"),
        Arguments.of(400, "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked, chunked\r\n\r\n"),
        Arguments.of(400, "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked;x\r\n\r\n"),
        Arguments.of(400, "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked; q=1\r\n\r\n"),
        Arguments.of(400, "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding:\r\n\r\n"),
        Arguments.of(400, "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked,\r\n\r\n"),
        Arguments.of(400, "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: , chunked\r\n\r\n"),
        Arguments.of(400, "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked, gzip\r\n\r\n"),
        Arguments.of(400, "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chun ked\r\n\r\n"),
        Arguments.of(400, "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: \"chunked\"\r\n\r\n"),
        Arguments.of(501, "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: gzip, chunked\r\n\r\n"),
        Arguments.of(501, "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: gzip\r\n\r\n"),
        Arguments.of(501, "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: identity\r\n\r\n"),
        Arguments.of(501, "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: xchunked\r\n\r\n"),
        // Expect
        Arguments.of(417, "POST / HTTP/1.1\r\n" + h + "Expect: 200-ok\r\n\r\n"),
        Arguments.of(417, "POST / HTTP/1.1\r\n" + h + "Expect: 100-continue, x\r\n\r\n"),
        Arguments.of(417, "POST / HTTP/1.1\r\n" + h + "Expect:\r\n\r\n"));
  }

  /** Request smuggling: each would make Fulcrum and some backend disagree on where a request ends. */
  @ParameterizedTest(name = "[{index}] {0}")
  @MethodSource
  void smuggling(String attack, int status, String head) {
    assertRequestFails(status, head, "");
  }

  static Stream<Arguments> smuggling() {
    String post = "POST / HTTP/1.1\r\nHost: a\r\n";
    return Stream.of(
        Arguments.of("CL.TE", 400, post + "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n"),
        Arguments.of("TE.CL", 400, post + "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"),
        Arguments.of("TE.CL, CL a list", 400, post + "Transfer-Encoding: chunked\r\nContent-Length: 4, 4\r\n\r\n"),
        Arguments.of("space before colon", 400, post + "Transfer-Encoding : chunked\r\nContent-Length: 4\r\n\r\n"),
        Arguments.of("xchunked", 501, post + "Transfer-Encoding: xchunked\r\n\r\n"),
        Arguments.of("xchunked with CL", 400, post + "Transfer-Encoding: xchunked\r\nContent-Length: 4\r\n\r\n"),
        Arguments.of("TE twice", 400, post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n"),
        Arguments.of("TE twice, case", 400, post + "Transfer-Encoding: chunked\r\ntransfer-encoding: identity\r\n\r\n"),
        Arguments.of("TE folded", 400, post + "Transfer-Encoding:\r\n chunked\r\n\r\n"),
        Arguments.of("TE folded name", 400, post + "Transfer-Encoding\r\n : chunked\r\n\r\n"),
        Arguments.of("TE behind a fold", 400, post + "X: y\r\n Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"),
        Arguments.of("TE after a lone CR", 400, post + "X: y\rTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"),
        Arguments.of("TE with VT", 400, post + "Transfer-Encoding: \u000bchunked\r\n\r\n"),
        Arguments.of("TE with NUL", 400, post + "Transfer-Encoding: chunked\u0000\r\n\r\n"),
        Arguments.of("TE with underscore", 400, post + "Transfer_Encoding: chunked\r\nContent-Length: 4\r\n\r\n"),
        Arguments.of("CL with underscore", 400, post + "Transfer-Encoding: chunked\r\nContent_Length: 4\r\n\r\n"),
        Arguments.of("CL plus sign", 400, post + "Content-Length: +4\r\n\r\n"),
        Arguments.of("CL 1, 2", 400, post + "Content-Length: 1, 2\r\n\r\n"),
        Arguments.of("CL twice", 400, post + "Content-Length: 4\r\nContent-Length: 40\r\n\r\n"),
        Arguments.of("CL overflow", 400, post + "Content-Length: 18446744073709551620\r\n\r\n"),
        Arguments.of("NUL in a field", 400, post + "X: a\u0000\r\nContent-Length: 4\r\n\r\n"),
        Arguments.of("obs-fold", 400, post + "Content-Length: 4\r\n X: y\r\n\r\n"),
        Arguments.of("TE in HTTP/1.0", 400, "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"));
  }

  @Test
  void smugglingMessagesSaySo() {
    ByteBuffer buf = buffer("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n", true);
    WireError e = (WireError) HttpHeads.parseRequest(buf, AT, buf.capacity(), LIMITS);
    assertEquals("both Content-Length and Transfer-Encoding: refused (request smuggling)", e.problem());
    assertEquals(WireError.Kind.MALFORMED, e.kind());
  }

  @Test
  void tabAfterTheColonIsWhitespace() throws Exception {
    assertTrue(request("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\tchunked\r\n\r\n").chunked());
  }

  // --- responses ---

  @Test
  void parsesAResponse() throws Exception {
    ResponseHead head = response(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nSet-Cookie: a=b\r\nSet-Cookie: c=d\r\n\r\n");
    assertEquals(1, head.minorVersion());
    assertEquals(200, head.status());
    assertEquals("OK", head.reason());
    assertEquals(5, head.contentLength());
    assertFalse(head.chunked());
    assertTrue(head.keepAlive());
    assertEquals(
        List.of("Content-Type=text/plain", "Content-Length=5", "Set-Cookie=a=b", "Set-Cookie=c=d"),
        fields(head.headers()));
  }

  @Test
  void statusLines() throws Exception {
    assertEquals("Not Found H\u00e9las", response("HTTP/1.1 404 Not Found H\u00e9las\r\n\r\n").reason());
    assertEquals("", response("HTTP/1.1 204\r\n\r\n").reason());
    assertEquals("", response("HTTP/1.1 204 \r\n\r\n").reason());
    assertEquals(" x ", response("HTTP/1.1 500  x \r\n\r\n").reason());
    assertEquals(100, response("HTTP/1.1 100 Continue\r\n\r\n").status());
    assertEquals(599, response("HTTP/1.1 599 x\r\n\r\n").status());
    ResponseHead old = response("HTTP/1.0 200 OK\r\n\r\n");
    assertEquals(0, old.minorVersion());
    assertEquals(-1, old.contentLength());
    assertFalse(old.keepAlive());
  }

  @Test
  void responseKeepAlive() throws Exception {
    assertTrue(response("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n").keepAlive());
    assertFalse(response("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n").keepAlive());
    assertFalse(response("HTTP/1.1 200 OK\r\nconnection: x\r\nconnection: CLOSE\r\n\r\n").keepAlive());
  }

  @Test
  void chunkedResponses() throws Exception {
    ResponseHead chunked = response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    assertTrue(chunked.chunked());
    assertEquals(-1, chunked.contentLength());
    assertTrue(chunked.keepAlive());
    // RFC 9112 §6.3: Transfer-Encoding wins, and Content-Length is not forwarded
    ResponseHead both = response("HTTP/1.1 200 OK\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\nX: y\r\n\r\n");
    assertTrue(both.chunked());
    assertEquals(-1, both.contentLength());
    assertFalse(both.keepAlive());
    assertNull(both.headers().get("Content-Length"));
    assertEquals(List.of("Transfer-Encoding=chunked", "X=y"), fields(both.headers()));
  }

  @Test
  void responseLimits() throws Exception {
    StringBuilder fields = new StringBuilder();
    for (int i = 0; i < 1000; i++) fields.append("X-").append(i).append(": v\r\n");
    assertEquals(1000, response("HTTP/1.1 200 OK\r\n" + fields + "\r\n").headers().size());
    assertResponseFails("HTTP/1.1 200 OK\r\n" + fields + "Y: z\r\n\r\n");
    assertEquals(65536, response("HTTP/1.1 200 OK\r\nX: " + "v".repeat(65536) + "\r\n\r\n").headers().get("X").length());
    assertResponseFails("HTTP/1.1 200 OK\r\nX: " + "v".repeat(65537) + "\r\n\r\n");
  }

  @ParameterizedTest(name = "[{index}] {0}")
  @ValueSource(strings = {
    "HTTP/1.1 099 x\r\n\r\n",
    "HTTP/1.1 600 x\r\n\r\n",
    "HTTP/1.1 000\r\n\r\n",
    "HTTP/1.1 20 OK\r\n\r\n",
    "HTTP/1.1 2000 OK\r\n\r\n",
    "HTTP/1.1 20x OK\r\n\r\n",
    "HTTP/1.1 200OK\r\n\r\n",
    "HTTP/1.1  200 OK\r\n\r\n",
    "HTTP/1.1\r\n\r\n",
    "HTTP/2 200 OK\r\n\r\n",
    "HTTP/1.2 200 OK\r\n\r\n",
    "http/1.1 200 OK\r\n\r\n",
    "\r\nHTTP/1.1 200 OK\r\n\r\n",
    "HTTP/1.1 200 O\u0000K\r\n\r\n",
    "HTTP/1.1 200 OK\r\nX: a\u0000\r\n\r\n",
    "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n",
    "HTTP/1.1 200 OK\r\nX : a\r\n\r\n",
    "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
    "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
  })
  void badResponses(String head) {
    assertResponseFails(head);
  }

  @Test
  void identicalResponseContentLengthsBecomeOne() throws Exception {
    ResponseHead head = response("HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\n");
    assertEquals(3, head.contentLength());
    assertEquals(List.of("Content-Length=3"), fields(head.headers()));
  }

  // --- helpers ---

  /** The text at index AT of a buffer with junk around it, positioned as a buffer being read into. */
  private static ByteBuffer buffer(String text, boolean direct) {
    byte[] bytes = text.getBytes(ISO_8859_1);
    ByteBuffer buf = direct ? ByteBuffer.allocateDirect(AT + bytes.length) : ByteBuffer.allocate(AT + bytes.length);
    buf.put("\r\n\r\nxx\n".getBytes(ISO_8859_1)).put(bytes);
    return buf;
  }

  private static RequestHead request(String text) {
    ByteBuffer buf = buffer(text, true);
    assertHeadEndFoundAtEverySplit(buf);
    ParsedRequest parsed = HttpHeads.parseRequest(buf, AT, buf.capacity(), LIMITS);
    if (parsed instanceof WireError e) throw new AssertionError("refused: " + e);
    return (RequestHead) parsed;
  }

  private static ResponseHead response(String text) {
    ByteBuffer buf = buffer(text, false);
    assertHeadEndFoundAtEverySplit(buf);
    ParsedResponse parsed = HttpHeads.parseResponse(buf, AT, buf.capacity());
    if (parsed instanceof WireError e) throw new AssertionError("refused: " + e);
    return (ResponseHead) parsed;
  }

  /**
   * The head's end is found whole, when the head arrives a byte at a time, and when it arrives in two parts split at
   * every position, with the search resumed as the nio engine resumes it (4 bytes before where it stopped).
   */
  private static void assertHeadEndFoundAtEverySplit(ByteBuffer buf) {
    int end = buf.capacity();
    assertEquals(end, HttpHeads.headEnd(buf, AT, end), "the head's end, whole");
    int scanned = AT;
    int found = -1;
    for (int limit = AT + 1; limit <= end && found < 0; limit++) {
      found = HttpHeads.headEnd(buf, Math.max(AT, scanned - 4), limit);
      scanned = limit;
    }
    assertEquals(end, found, "the head's end, byte by byte");
    for (int split = AT + 1; split < end; split++) {
      assertEquals(-1, HttpHeads.headEnd(buf, AT, split), "no end before all of the head arrived, split at " + split);
      assertEquals(end, HttpHeads.headEnd(buf, Math.max(AT, split - 4), end), "the head's end, split at " + split);
    }
  }

  private static WireError.Kind kindOf(int status) {
    return switch (status) {
      case 400, 502 -> WireError.Kind.MALFORMED;
      case 414 -> WireError.Kind.TARGET_TOO_LONG;
      case 431 -> WireError.Kind.FIELDS_TOO_LARGE;
      case 413 -> WireError.Kind.BODY_TOO_LARGE;
      case 501 -> WireError.Kind.NOT_IMPLEMENTED;
      case 505 -> WireError.Kind.VERSION_NOT_SUPPORTED;
      case 417 -> WireError.Kind.EXPECTATION_FAILED;
      default -> throw new IllegalArgumentException("no kind answers " + status);
    };
  }

  private static void assertRequestFails(int status, String text, String messagePart) {
    for (boolean direct : new boolean[] {false, true}) {
      ByteBuffer buf = buffer(text, direct);
      assertEquals(buf.capacity(), HttpHeads.headEnd(buf, AT, buf.capacity()), "the head's end");
      ParsedRequest parsed = HttpHeads.parseRequest(buf, AT, buf.capacity(), LIMITS);
      WireError e = assertInstanceOf(WireError.class, parsed, "refused");
      assertEquals(kindOf(status), e.kind(), e.problem());
      assertTrue(e.problem().contains(messagePart), e.problem());
    }
  }

  private static void assertResponseFails(String text) {
    ByteBuffer buf = buffer(text, true);
    assertEquals(buf.capacity(), HttpHeads.headEnd(buf, AT, buf.capacity()), "the head's end");
    WireError e = assertInstanceOf(WireError.class, HttpHeads.parseResponse(buf, AT, buf.capacity()), "refused");
    assertEquals(WireError.Kind.MALFORMED, e.kind(), e.problem());
  }

  private static List<String> fields(HeaderFields headers) {
    List<String> fields = new ArrayList<>();
    for (int i = 0; i < headers.size(); i++) fields.add(headers.name(i) + "=" + headers.value(i));
    return fields;
  }
}
