package dev.fulcrum.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.http.h2.H2ClientConnection;
import dev.fulcrum.http.h2.H2Settings;
import dev.fulcrum.http.wire.HeaderFields;
import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.PoolHealth;
import dev.fulcrum.testing.TestCertificates;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManager;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * HTTP/2 clients (curl with nghttp2, the JDK HttpClient) through the nio engine to HTTP/1.1 backends: h2 by ALPN on
 * an HTTPS listener, h2c with prior knowledge on a plain one, each stream through the same routes and rules.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class Http2ClientTest {
  static final int BIG = 3 << 20;

  private Path dir;
  private ActorSystem<Void> backends;
  private RecordingBackend web;
  /** Answers its health checks, and never any other request. */
  private dev.fulcrum.testing.HttpBackend stuck;
  private dev.fulcrum.testing.HttpBackend timed;
  private Fulcrum fulcrum;
  private int tlsPort;
  private int h2cPort;
  private int plainPort;

  @BeforeAll
  void start() throws Exception {
    dir = Files.createTempDirectory("fulcrum-h2");
    TestCertificates.selfSigned(dir, "a", false, "a.example");
    backends = ActorSystem.create(Behaviors.empty(), "backends");
    byte[] big = new byte[BIG];
    for (int i = 0; i < big.length; i++) big[i] = (byte) ('a' + i % 26);
    web = new RecordingBackend(backends, "web", request -> {
      String path = request.getUri().path();
      if (path.equals("/big")) {
        return org.apache.pekko.http.javadsl.model.HttpResponse.create()
            .withEntity(HttpEntities.create(ContentTypes.APPLICATION_OCTET_STREAM, ByteString.fromArray(big)));
      }
      if (path.equals("/chunked")) {
        return org.apache.pekko.http.javadsl.model.HttpResponse.create().withEntity(HttpEntities.createChunked(
            ContentTypes.TEXT_PLAIN_UTF8, org.apache.pekko.stream.javadsl.Source.from(
                List.of(ByteString.fromString("one,"), ByteString.fromString("two,"), ByteString.fromString("three")))));
      }
      return org.apache.pekko.http.javadsl.model.HttpResponse.create().withEntity("web")
          .addHeader(RawHeader.create("X-Backend", "web"));
    });
    stuck = new dev.fulcrum.testing.HttpBackend(backends, request -> request.getUri().path().equals("/health")
        ? CompletableFuture.completedFuture(org.apache.pekko.http.javadsl.model.HttpResponse.create())
        : new CompletableFuture<>());
    timed = new dev.fulcrum.testing.HttpBackend(backends, request -> CompletableFuture.completedFuture(
        org.apache.pekko.http.javadsl.model.HttpResponse.create().withEntity("web")));
    fulcrum = Fulcrum.start(ProxyTests.config("nio", """
        fulcrum.access-log.path = "%s"
        fulcrum.pools.web.backends = ["%s"]
        fulcrum.pools.dead.backends = ["127.0.0.1:9"]
        fulcrum.pools.stuck.backends = ["%s"]
        fulcrum.pools.timed.backends = ["%s"]
        fulcrum.listeners.http.secure {
          bind = "127.0.0.1:0"
          routes = [{pool = web}]
          http2.enabled = on
          tls.certificates = [{cert = "%s", key = "%s"}]
        }
        fulcrum.listeners.http.h2c {
          bind = "127.0.0.1:0"
          routes = [{pool = web, path = "/", response-headers.set {"X-Via-Route" = "h2c"}}, {pool = dead, path = "/dead"},
            {pool = stuck, path = "/stuck"}, {pool = timed, path = "/timed"}]
          firewall.deny-paths = ["/denied/*"]
          http2.cleartext = on
        }
        fulcrum.listeners.http.plain {
          bind = "127.0.0.1:0"
          routes = [{pool = web}]
        }
        """.formatted(dir.resolve("access.log").toString().replace("\\", "\\\\"), web.address(), stuck.address(),
            timed.address(), dir.resolve("a.pem"), dir.resolve("a.key"))));
    tlsPort = fulcrum.httpListener("secure").localAddress().getPort();
    h2cPort = fulcrum.httpListener("h2c").localAddress().getPort();
    plainPort = fulcrum.httpListener("plain").localAddress().getPort();
    PoolHealth.awaitAllUp(fulcrum, "web", 1);
    PoolHealth.awaitAllUp(fulcrum, "stuck", 1);
    PoolHealth.awaitAllUp(fulcrum, "timed", 1);
  }

  @AfterAll
  void stop() throws Exception {
    ProxyTests.stop(fulcrum, backends);
  }

  /** curl's "VERSION STATUS BODY". */
  private static String curl(String url, String... options) {
    List<String> command = new ArrayList<>(List.of("curl", "-sS", "--max-time", "20", "-o", "-", "-w",
        "\n%{http_version} %{http_code}"));
    command.addAll(List.of(options));
    command.add(url);
    String out = TestCertificates.run(command);
    int split = out.lastIndexOf('\n');
    return out.substring(split + 1) + " " + out.substring(0, split);
  }

  @Test
  void anUploadAnsweredBeforeItsEndIsToldToStop() throws Exception {
    // a 5 MB body, far beyond the stream's window, to a path the firewall denies: the 403 comes before the body has been
    // read, and the rest of it is dropped as it comes, or curl would wait on a window never opened again
    Path upload = dir.resolve("upload.bin");
    Files.write(upload, new byte[5 << 20]);
    long started = System.nanoTime();
    String answer = curl("http://127.0.0.1:" + h2cPort + "/denied/upload", "--http2-prior-knowledge",
        "--data-binary", "@" + upload);
    assertTrue(answer.startsWith("2 403 "), answer);
    assertTrue(System.nanoTime() - started < java.util.concurrent.TimeUnit.SECONDS.toNanos(15), "answered at once");
    // the connection serves on: the next request on a new one, and the listener is fine
    assertEquals("2 200 web", curl("http://127.0.0.1:" + h2cPort + "/after", "--http2-prior-knowledge"));
    web.next();
  }

  @Test
  void curlSpeaksH2OverTlsChosenByAlpn() {
    assertEquals("2 200 web", curl("https://a.example:" + tlsPort + "/x?q=1", "--http2", "--cacert",
        dir.resolve("a.pem").toString(), "--resolve", "a.example:" + tlsPort + ":127.0.0.1"));
    RecordingBackend.Received received = web.next();
    assertEquals("/x?q=1", received.target());
    assertEquals("https", received.header("X-Forwarded-Proto"));
    assertEquals("a.example:" + tlsPort, received.header("Host"));
  }

  @Test
  void aClientOfferingOnlyHttp11StaysOnHttp11() {
    assertEquals("1.1 200 web", curl("https://a.example:" + tlsPort + "/x", "--http1.1", "--cacert",
        dir.resolve("a.pem").toString(), "--resolve", "a.example:" + tlsPort + ":127.0.0.1"));
    web.next();
  }

  /**
   * A stream's access-log line has every timing of its attempt, as an HTTP/1.1 request's has: Tw (the wait for a
   * connection) was -1 for a stream that found an idle one.
   */
  @Test
  void anHttp2StreamsAccessLogLineHasItsQueueAndConnectTimes() {
    for (int i = 0; i < 2; i++) { // the second finds the first's connection idle
      String id = "h2-timings-" + i;
      assertEquals("2 200 web", curl("http://127.0.0.1:" + h2cPort + "/timed", "--http2-prior-knowledge", "-H",
          "X-Request-Id: " + id));
      String line = Eventually.await(Duration.ofSeconds(10), "the access-log line of " + id, () -> {
        try {
          return Files.readAllLines(dir.resolve("access.log")).stream().filter(l -> l.contains(" " + id + " ")).findFirst();
        } catch (java.io.IOException e) {
          return java.util.Optional.<String>empty();
        }
      }, java.util.Optional::isPresent).get();
      assertTrue(line.contains("\"GET /timed HTTP/2\" 200 "), line);
      String[] timings = line.split(" ")[12].split("/");
      assertEquals(5, timings.length, line);
      for (String t : timings) assertTrue(Long.parseLong(t) >= 0, "Tq/Tw/Tc/Tr/Tt all there: " + line);
    }
  }

  @Test
  void curlSpeaksH2cWithPriorKnowledgeAndRouteRulesApply() {
    String out = TestCertificates.run(List.of("curl", "-sS", "--max-time", "20", "--http2-prior-knowledge", "-D", "-",
        "-H", "Cookie: a=1", "-H", "Cookie: b=2", "http://127.0.0.1:" + h2cPort + "/c"));
    assertTrue(out.startsWith("HTTP/2 200"), out);
    assertTrue(out.contains("x-via-route: h2c"), out);
    assertTrue(out.contains("x-request-id: "), out);
    assertTrue(out.endsWith("web"), out);
    RecordingBackend.Received received = web.next();
    assertEquals("a=1; b=2", received.header("Cookie"));
  }

  @Test
  void aListenerWithoutCleartextNeverSpeaksH2c() throws Exception {
    // the preface is not a request Fulcrum takes on a listener without http2.cleartext
    Process curl = new ProcessBuilder("curl", "-sS", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code}",
        "--http2-prior-knowledge", "http://127.0.0.1:" + plainPort + "/").redirectErrorStream(true).start();
    assertTrue(curl.waitFor(20, java.util.concurrent.TimeUnit.SECONDS));
    String out = new String(curl.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertTrue(curl.exitValue() != 0 || !out.startsWith("200"), out);
    // and an Upgrade: h2c request is served as HTTP/1.1 with the upgrade stripped
    assertEquals("1.1 200 web", curl("http://127.0.0.1:" + h2cPort + "/u", "--http2"));
    RecordingBackend.Received received = web.next();
    assertEquals(null, received.header("Upgrade"));
    assertEquals(null, received.header("HTTP2-Settings"));
  }

  private static HttpClient jdkClient() throws Exception {
    SSLContext trustAll = SSLContext.getInstance("TLS");
    // an extended trust manager that checks nothing: the certificate's name is not 127.0.0.1, and that is fine here
    trustAll.init(null, new TrustManager[] {new javax.net.ssl.X509ExtendedTrustManager() {
      public void checkClientTrusted(X509Certificate[] chain, String authType) {}

      public void checkServerTrusted(X509Certificate[] chain, String authType) {}

      public void checkClientTrusted(X509Certificate[] c, String a, java.net.Socket s) {}

      public void checkServerTrusted(X509Certificate[] c, String a, java.net.Socket s) {}

      public void checkClientTrusted(X509Certificate[] c, String a, javax.net.ssl.SSLEngine e) {}

      public void checkServerTrusted(X509Certificate[] c, String a, javax.net.ssl.SSLEngine e) {}

      public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
      }
    }}, null);
    return HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).sslContext(trustAll)
        .connectTimeout(Duration.ofSeconds(10)).build();
  }

  @Test
  void theJdkClientSendsManyConcurrentStreamsWithBodiesOverOneConnection() throws Exception {
    HttpClient client = jdkClient();
    // one call first: requests sent before the first connection is up would each open their own
    assertEquals(200, client.send(HttpRequest.newBuilder(java.net.URI.create("https://127.0.0.1:" + tlsPort + "/w"))
        .build(), HttpResponse.BodyHandlers.ofString()).statusCode());
    web.next();
    List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
    for (int i = 0; i < 60; i++) {
      HttpRequest.BodyPublisher body = i % 2 == 0 ? HttpRequest.BodyPublishers.ofString("payload-" + i)
          : HttpRequest.BodyPublishers.noBody();
      calls.add(client.sendAsync(HttpRequest.newBuilder(java.net.URI.create("https://127.0.0.1:" + tlsPort + "/s/" + i))
          .method(i % 2 == 0 ? "POST" : "GET", body).timeout(Duration.ofSeconds(30)).build(),
          HttpResponse.BodyHandlers.ofString()));
    }
    for (CompletableFuture<HttpResponse<String>> call : calls) {
      HttpResponse<String> response = call.get();
      assertEquals(HttpClient.Version.HTTP_2, response.version());
      assertEquals(200, response.statusCode());
      assertEquals("web", response.body());
    }
    int posts = 0;
    for (int i = 0; i < 60; i++) {
      RecordingBackend.Received r = web.next();
      if (r.method().equals("POST")) {
        posts++;
        assertEquals("payload-" + r.target().substring(3), r.body());
      }
    }
    assertEquals(30, posts);
  }

  @Test
  void largeAndChunkedResponsesArriveWholeThroughFlowControl() throws Exception {
    HttpClient client = jdkClient();
    HttpResponse<byte[]> big = client.send(HttpRequest.newBuilder(
        java.net.URI.create("https://127.0.0.1:" + tlsPort + "/big")).build(), HttpResponse.BodyHandlers.ofByteArray());
    assertEquals(200, big.statusCode());
    assertEquals(BIG, big.body().length);
    for (int i = 0; i < BIG; i += 4099) assertEquals((byte) ('a' + i % 26), big.body()[i]);
    web.next();
    HttpResponse<String> chunked = client.send(HttpRequest.newBuilder(
        java.net.URI.create("https://127.0.0.1:" + tlsPort + "/chunked")).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals("one,two,three", chunked.body());
    web.next();
  }

  @Test
  void aLargeUploadOfUnknownLengthReachesTheBackendChunked() throws Exception {
    HttpClient client = jdkClient();
    byte[] upload = new byte[1 << 20];
    java.util.Arrays.fill(upload, (byte) 'u');
    // ofInputStream: no content-length, so the HTTP/1.1 backend gets it chunked
    HttpResponse<String> response = client.send(HttpRequest.newBuilder(
        java.net.URI.create("https://127.0.0.1:" + tlsPort + "/upload")).POST(HttpRequest.BodyPublishers.ofInputStream(
            () -> new java.io.ByteArrayInputStream(upload))).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, response.statusCode());
    RecordingBackend.Received received = web.next();
    assertEquals(upload.length, received.body().length());
  }

  private String h2cHeaders(String path, String... options) {
    List<String> command = new ArrayList<>(List.of("curl", "-sS", "--max-time", "20", "--http2-prior-knowledge",
        "-D", "-"));
    command.addAll(List.of(options));
    command.add("http://127.0.0.1:" + h2cPort + path);
    return TestCertificates.run(command);
  }

  @Test
  void proxyAnswersGoOutOnTheStreamAndInGrpcTermsForGrpcCalls() {
    String denied = h2cHeaders("/denied/x");
    assertTrue(denied.startsWith("HTTP/2 403"), denied);
    assertTrue(denied.contains("forbidden by the firewall"), denied);
    String grpcDenied = h2cHeaders("/denied/x", "-H", "content-type: application/grpc", "-d", "");
    assertTrue(grpcDenied.startsWith("HTTP/2 200"), grpcDenied);
    assertTrue(grpcDenied.contains("grpc-status: 7"), grpcDenied);
    String unavailable = h2cHeaders("/dead/svc/Method", "-H", "content-type: application/grpc+proto", "-d", "");
    assertTrue(unavailable.startsWith("HTTP/2 200"), unavailable);
    assertTrue(unavailable.contains("grpc-status: 14"), unavailable);
    assertTrue(unavailable.contains("grpc-message: "), unavailable);
  }

  /** A raw h2c client: writes frames as given, reads the frames the proxy sends with Jetty's parser. */
  private final class RawClient implements AutoCloseable {
    final java.net.Socket socket;
    final java.util.concurrent.LinkedBlockingQueue<org.eclipse.jetty.http2.frames.Frame> frames =
        new java.util.concurrent.LinkedBlockingQueue<>();
    final Thread reader;

    RawClient() throws Exception {
      socket = new java.net.Socket("127.0.0.1", h2cPort);
      org.eclipse.jetty.http2.parser.Parser parser =
          new org.eclipse.jetty.http2.parser.Parser(org.eclipse.jetty.io.ByteBufferPool.NON_POOLING, 1 << 20);
      parser.init(new org.eclipse.jetty.http2.parser.Parser.Listener() {
        @Override
        public void onData(org.eclipse.jetty.http2.frames.DataFrame f) {
          java.nio.ByteBuffer copy = java.nio.ByteBuffer.allocate(f.remaining()).put(f.getByteBuffer().duplicate()).flip();
          frames.add(new org.eclipse.jetty.http2.frames.DataFrame(f.getStreamId(), copy, f.isEndStream()));
        }

        @Override
        public void onHeaders(org.eclipse.jetty.http2.frames.HeadersFrame f) {
          frames.add(f);
        }

        @Override
        public void onReset(org.eclipse.jetty.http2.frames.ResetFrame f) {
          frames.add(f);
        }

        @Override
        public void onGoAway(org.eclipse.jetty.http2.frames.GoAwayFrame f) {
          frames.add(f);
        }
      });
      reader = new Thread(() -> {
        byte[] buf = new byte[65536];
        try {
          int n;
          while ((n = socket.getInputStream().read(buf)) > 0) {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(buf, 0, n);
            while (b.hasRemaining()) parser.parse(b);
          }
        } catch (java.io.IOException closed) {
          // the test ends the socket
        }
      });
      reader.setDaemon(true);
      reader.start();
    }

    void send(dev.fulcrum.http.h2.RawFrames f) throws java.io.IOException {
      socket.getOutputStream().write(f.bytes());
      socket.getOutputStream().flush();
    }

    org.eclipse.jetty.http2.frames.Frame next() throws InterruptedException {
      org.eclipse.jetty.http2.frames.Frame f = frames.poll(20, java.util.concurrent.TimeUnit.SECONDS);
      if (f == null) throw new AssertionError("no frame within 20 s");
      return f;
    }

    @Override
    public void close() throws java.io.IOException {
      socket.close();
    }
  }

  @Test
  void aSlowReaderOnOneStreamStallsOnlyThatStream() throws Exception {
    try (RawClient c = new RawClient()) {
      // streams may receive 1024 bytes until the client says more; the connection's window is no limit
      c.send(new dev.fulcrum.http.h2.RawFrames().preface().settings(4, 1024).windowUpdate(0, 1 << 30)
          .headers(1, true, dev.fulcrum.http.h2.RawFrames.block(":method", "GET", ":scheme", "http", ":path", "/big",
              ":authority", "x")));
      int stalled = 0;
      // stream 1 gets its head and 1024 bytes, then waits; stream 3 opened meanwhile completes
      while (stalled < 1024) {
        org.eclipse.jetty.http2.frames.Frame f = c.next();
        if (f instanceof org.eclipse.jetty.http2.frames.DataFrame d) stalled += d.remaining();
      }
      c.send(new dev.fulcrum.http.h2.RawFrames().headers(3, true, dev.fulcrum.http.h2.RawFrames.block(":method", "GET",
          ":scheme", "http", ":path", "/small", ":authority", "x")));
      boolean smallDone = false;
      while (!smallDone) {
        org.eclipse.jetty.http2.frames.Frame f = c.next();
        if (f instanceof org.eclipse.jetty.http2.frames.DataFrame d && d.getStreamId() == 1) stalled += d.remaining();
        if (f instanceof org.eclipse.jetty.http2.frames.DataFrame d && d.getStreamId() == 3) smallDone = d.isEndStream();
      }
      assertEquals(1024, stalled, "stream 1 never got past its window");
      // the reader catches up: the rest arrives whole
      c.send(new dev.fulcrum.http.h2.RawFrames().windowUpdate(1, BIG));
      boolean bigDone = false;
      while (!bigDone) {
        org.eclipse.jetty.http2.frames.Frame f = c.next();
        if (f instanceof org.eclipse.jetty.http2.frames.DataFrame d && d.getStreamId() == 1) {
          stalled += d.remaining();
          bigDone = d.isEndStream();
        }
      }
      assertEquals(BIG, stalled);
      web.next();
      web.next();
    }
  }

  /**
   * RFC 9113 §8.1.1: a malformed authority fails its own stream (400, as HTTP/1.1 answers a bad Host), never the
   * connection; Jetty's decoder ended the whole connection for an :authority it could not parse.
   */
  @Test
  void aMalformedAuthorityFailsOnlyItsStream() throws Exception {
    try (RawClient c = new RawClient()) {
      java.io.ByteArrayOutputStream badThenIndexed = new java.io.ByteArrayOutputStream();
      badThenIndexed.writeBytes(dev.fulcrum.http.h2.RawFrames.block(":method", "GET", ":scheme", "http", ":path", "/bad",
          ":authority", "bad host"));
      // after it in the same block, a field entering the dynamic table: the decoder must reach it
      badThenIndexed.writeBytes(new byte[] {0x40, 7, 'x', '-', 'a', 'f', 't', 'e', 'r', 4, 'k', 'e', 'p', 't'});
      java.io.ByteArrayOutputStream good = new java.io.ByteArrayOutputStream();
      good.writeBytes(dev.fulcrum.http.h2.RawFrames.block(":method", "GET", ":scheme", "http", ":path", "/good",
          ":authority", "good.example"));
      good.write(0x80 | 62); // x-after: kept, by its index in the dynamic table
      c.send(new dev.fulcrum.http.h2.RawFrames().preface().settings()
          .headers(1, true, badThenIndexed.toByteArray())
          .headers(3, true, dev.fulcrum.http.h2.RawFrames.block(":method", "GET", ":scheme", "http", ":path", "/bad",
              ":authority", "user@evil.example"))
          .headers(5, true, dev.fulcrum.http.h2.RawFrames.block(":method", "GET", ":scheme", "http", ":path", "/bad",
              ":authority", "x:99999"))
          .headers(7, true, dev.fulcrum.http.h2.RawFrames.block(":method", "GET", ":scheme", "http", ":path", "/bad",
              "host", "a b"))
          .headers(9, true, dev.fulcrum.http.h2.RawFrames.block(":method", "GET", ":scheme", "http", ":path", "/bad",
              ":authority", "a\u0001b"))
          .headers(11, true, good.toByteArray())
          // a Host in place of :authority: Jetty refuses this one already, HttpHeads.hostProblem (HTTP/1.1 Host) too
          .headers(13, true, dev.fulcrum.http.h2.RawFrames.block(":method", "GET", ":scheme", "http", ":path", "/bad",
              "host", "h:80:80")));
      java.util.Map<Integer, String> outcome = new java.util.TreeMap<>();
      while (outcome.size() < 7) {
        org.eclipse.jetty.http2.frames.Frame f = c.next();
        if (f instanceof org.eclipse.jetty.http2.frames.GoAwayFrame g) throw new AssertionError("the connection ended: " + g);
        if (f instanceof org.eclipse.jetty.http2.frames.HeadersFrame h && h.getMetaData() instanceof org.eclipse.jetty.http.MetaData.Response r) {
          outcome.put(h.getStreamId(), String.valueOf(r.getStatus()));
        }
        if (f instanceof org.eclipse.jetty.http2.frames.ResetFrame r) outcome.put(r.getStreamId(), "reset " + r.getError());
      }
      assertEquals("400", outcome.get(1), outcome.toString());
      assertEquals("400", outcome.get(3), outcome.toString());
      assertEquals("400", outcome.get(5), outcome.toString());
      assertEquals("400", outcome.get(7), outcome.toString());
      // a control character Jetty refuses as a field value: a stream error of its own (RST_STREAM), also stream-level
      assertTrue(outcome.get(9).equals("400") || outcome.get(9).equals("reset " + org.eclipse.jetty.http2.ErrorCode.PROTOCOL_ERROR.code),
          outcome.toString());
      assertEquals("200", outcome.get(11), outcome.toString());
      assertEquals("400", outcome.get(13), outcome.toString());
      RecordingBackend.Received r;
      do {
        r = web.next();
        assertFalse(r.target().equals("/bad"), "a malformed request reached the backend: " + r);
      } while (!r.target().equals("/good"));
      assertEquals("kept", r.header("x-after"), "the dynamic table kept step with the client's");
      assertEquals("good.example", r.header("host"));
    }
  }

  @Test
  void rapidResetOnARealListenerEndsThatConnectionOnly() throws Exception {
    try (RawClient c = new RawClient()) {
      dev.fulcrum.http.h2.RawFrames f = new dev.fulcrum.http.h2.RawFrames().preface();
      for (int id = 1; id < 2 * 2000; id += 2) {
        f.headers(id, true, dev.fulcrum.http.h2.RawFrames.block(":method", "GET", ":scheme", "http", ":path", "/r",
            ":authority", "x")).rst(id, 8);
      }
      c.send(f);
      org.eclipse.jetty.http2.frames.GoAwayFrame goAway = null;
      while (goAway == null) {
        if (c.next() instanceof org.eclipse.jetty.http2.frames.GoAwayFrame g) goAway = g;
      }
      assertEquals(org.eclipse.jetty.http2.ErrorCode.ENHANCE_YOUR_CALM_ERROR.code, goAway.getError());
    }
    // counted, per listener and kind
    String metrics = TestCertificates.run(List.of("curl", "-sS", "--max-time", "20",
        "http://127.0.0.1:" + fulcrum.adminAddress().getPort() + "/metrics"));
    assertTrue(dev.fulcrum.testing.PrometheusText.value(dev.fulcrum.testing.PrometheusText.parse(metrics),
        "fulcrum_http2_violations_total", "listener=h2c", "kind=rapid_reset") >= 1, metrics);
    // the listener serves the next client as before
    assertEquals("2 200 web", curl("http://127.0.0.1:" + h2cPort + "/after", "--http2-prior-knowledge"));
    RecordingBackend.Received r;
    do {
      r = web.next();
    } while (!r.target().equals("/after"));
  }

  @Test
  void aGrpcTimeoutIsTheCallsDeadline() {
    long started = System.nanoTime();
    String out = h2cHeaders("/stuck/svc/Slow", "-H", "content-type: application/grpc", "-H", "grpc-timeout: 500m",
        "-d", "");
    long took = (System.nanoTime() - started) / 1_000_000;
    assertTrue(out.startsWith("HTTP/2 200"), out);
    assertTrue(out.contains("grpc-status: 4"), out);
    assertTrue(took < 10_000, "answered after " + took + " ms, not at the 30 s response timeout");
  }

  @Test
  void aClientThatEndsItsTlsInTheSameWriteAsItsRequestHasItsConnectionClosed() throws Exception {
    SSLEngine engine = dev.fulcrum.testing.TlsClients.trusting(dir.resolve("a.pem")).createSSLEngine("a.example", tlsPort);
    engine.setUseClientMode(true);
    SSLParameters parameters = engine.getSSLParameters();
    parameters.setApplicationProtocols(new String[] {"h2"});
    engine.setSSLParameters(parameters);
    try (Socket socket = new Socket("127.0.0.1", tlsPort)) {
      socket.setSoTimeout(10_000);
      InputStream in = socket.getInputStream();
      OutputStream out = socket.getOutputStream();
      ByteBuffer net = ByteBuffer.allocate(1 << 16).flip();
      ByteBuffer plain = ByteBuffer.allocate(1 << 16);
      ByteBuffer wrapped = ByteBuffer.allocate(1 << 16);
      engine.beginHandshake();
      SSLEngineResult.HandshakeStatus status = engine.getHandshakeStatus();
      while (status != SSLEngineResult.HandshakeStatus.FINISHED && status != SSLEngineResult.HandshakeStatus.NOT_HANDSHAKING) {
        switch (status) {
          case NEED_WRAP -> {
            wrapped.clear();
            status = engine.wrap(ByteBuffer.allocate(0), wrapped).getHandshakeStatus();
            out.write(wrapped.array(), 0, wrapped.position());
          }
          case NEED_UNWRAP -> {
            SSLEngineResult result = engine.unwrap(net, plain);
            status = result.getHandshakeStatus();
            if (result.getStatus() == SSLEngineResult.Status.BUFFER_UNDERFLOW) {
              net.compact();
              int n = in.read(net.array(), net.position(), net.remaining());
              assertTrue(n > 0, "the handshake ended early");
              net.position(net.position() + n).flip();
            }
          }
          case NEED_TASK -> {
            engine.getDelegatedTask().run();
            status = engine.getHandshakeStatus();
          }
          default -> throw new AssertionError(status);
        }
      }
      assertEquals("h2", engine.getApplicationProtocol());
      H2ClientConnection h2 = new H2ClientConnection(H2Settings.DEFAULTS, new H2ClientConnection.Handler() {
        @Override
        public void response(int streamId, int code, HeaderFields headers, boolean endStream) {}

        @Override
        public void bodyArrived(int streamId) {}

        @Override
        public void trailers(int streamId, HeaderFields trailers) {}

        @Override
        public void reset(int streamId, int errorCode) {}

        @Override
        public void writable(int streamId) {}
      }, System::nanoTime);
      h2.open("GET", "https", "a.example", "/x", new HeaderFields(0), true);
      // the request's records and the close_notify in one write: Fulcrum reads the bytes and the end at once
      wrapped.clear();
      engine.wrap(h2.output(), wrapped);
      engine.closeOutbound();
      engine.wrap(ByteBuffer.allocate(0), wrapped);
      out.write(wrapped.array(), 0, wrapped.position());
      // Fulcrum closes the connection (a read timeout fails the test: it was left open with its input ended)
      byte[] buffer = new byte[4096];
      while (in.read(buffer) >= 0) {
        // the response, if any came first, is not what this test is about
      }
    }
  }
}

