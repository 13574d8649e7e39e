package dev.fulcrum.http.h2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.http.wire.HeaderFields;
import dev.fulcrum.http.wire.WireError;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.eclipse.jetty.http.MetaData;
import org.eclipse.jetty.http2.frames.DataFrame;
import org.eclipse.jetty.http2.frames.HeadersFrame;
import org.eclipse.jetty.http2.frames.SettingsFrame;
import org.eclipse.jetty.http2.frames.WindowUpdateFrame;
import org.junit.jupiter.api.Test;

class H2ServerConnectionTest {
  private static byte[] postWithTrailers() {
    return new RawFrames().preface()
        .headers(1, false, RawFrames.block(":method", "POST", ":scheme", "https", ":path", "/svc/Call?x=1",
            ":authority", "api.example.com:8443", "content-type", "application/grpc", "te", "trailers",
            "cookie", "a=1", "cookie", "b=2"))
        .data(1, false, "hello ".getBytes(StandardCharsets.US_ASCII))
        .data(1, false, "world".getBytes(StandardCharsets.US_ASCII))
        .headers(1, true, RawFrames.block("grpc-status", "0"))
        .bytes();
  }

  private static void assertPostArrived(Peer peer) {
    assertEquals(1, peer.requests.size(), peer.events.toString());
    H2Request r = peer.requests.get(0);
    assertEquals("POST", r.method());
    assertEquals("/svc/Call?x=1", r.path());
    assertEquals("api.example.com:8443", r.authority());
    assertEquals("api.example.com:8443", r.headers().get("host"));
    assertEquals("a=1; b=2", r.headers().get("cookie"));
    assertEquals(1, r.headers().count("cookie"));
    assertTrue(r.grpc());
    assertTrue(r.hasBody());
    assertNull(r.problem());
    assertEquals("hello world", peer.bodies.get(1).toString());
    assertTrue(peer.events.contains("trailers 1 0"), peer.events.toString());
    assertTrue(peer.violations.isEmpty(), peer.violations.toString());
  }

  @Test
  void aRequestWithBodyAndTrailersArrivesWhole() {
    Peer peer = new Peer().feed(postWithTrailers());
    assertPostArrived(peer);
    // the connection's own SETTINGS and window first, then the ack of the client's
    assertFalse(peer.of(SettingsFrame.class).get(0).isReply());
    assertTrue(peer.of(SettingsFrame.class).get(1).isReply());
    assertEquals(100, peer.of(SettingsFrame.class).get(0).getSettings().get(SettingsFrame.MAX_CONCURRENT_STREAMS));
  }

  @Test
  void aRequestArrivesTheSameFedByteByByte() {
    Peer peer = new Peer();
    for (byte b : postWithTrailers()) peer.feed(new byte[] {b});
    assertPostArrived(peer);
  }

  @Test
  void aRequestArrivesTheSameSplitAtEveryPosition() {
    byte[] all = postWithTrailers();
    for (int split = 1; split < all.length; split++) {
      Peer peer = new Peer();
      peer.feed(Arrays.copyOfRange(all, 0, split)).feed(Arrays.copyOfRange(all, split, all.length));
      assertPostArrived(peer);
    }
  }

  @Test
  void aResponseGoesOutAsHeadersDataAndTrailers() {
    Peer peer = new Peer().feed(new RawFrames().preface().get(1, "/"));
    HeaderFields headers = new HeaderFields();
    headers.add("Content-Type", "text/plain");
    headers.add("Connection", "close"); // connection-specific: never sent in HTTP/2
    peer.connection.respond(1, 200, headers, false);
    assertEquals(5, peer.connection.data(1, ByteBuffer.wrap("hello".getBytes()), false));
    HeaderFields trailers = new HeaderFields();
    trailers.add("grpc-status", "0");
    peer.connection.trailers(1, trailers);
    peer.drain();
    HeadersFrame head = peer.of(HeadersFrame.class).get(0);
    MetaData.Response response = (MetaData.Response) head.getMetaData();
    assertEquals(200, response.getStatus());
    assertEquals("text/plain", response.getHttpFields().get("content-type"));
    assertNull(response.getHttpFields().get("connection"));
    DataFrame data = peer.of(DataFrame.class).get(0);
    assertEquals("hello", StandardCharsets.US_ASCII.decode(data.getByteBuffer()).toString());
    HeadersFrame trailer = peer.of(HeadersFrame.class).get(1);
    assertTrue(trailer.isEndStream());
    assertEquals("0", trailer.getMetaData().getHttpFields().get("grpc-status"));
    assertEquals(0, peer.connection.activeStreams());
  }

  @Test
  void responseDataWaitsForTheClientsWindowAndTheEngineHearsWhenItOpens() {
    Peer peer = new Peer().feed(new RawFrames().preface().get(1, "/big"));
    peer.connection.respond(1, 200, new HeaderFields(), false);
    ByteBuffer body = ByteBuffer.allocate(100_000);
    assertEquals(65_535, peer.connection.data(1, body, true));
    assertEquals(100_000 - 65_535, body.remaining());
    // the connection window opens, the stream's not yet: nothing moves
    peer.feed(new RawFrames().windowUpdate(0, 50_000));
    assertFalse(peer.events.contains("writable 1"));
    peer.feed(new RawFrames().windowUpdate(1, 50_000));
    assertTrue(peer.events.contains("writable 1"));
    assertEquals(100_000 - 65_535, peer.connection.data(1, body, true));
    peer.drain();
    int sent = peer.of(DataFrame.class).stream().mapToInt(DataFrame::remaining).sum();
    assertEquals(100_000, sent);
    assertTrue(peer.of(DataFrame.class).stream().allMatch(f -> f.remaining() <= 16_384));
    assertEquals(0, peer.connection.activeStreams());
  }

  @Test
  void aSlowEngineHoldsAtMostTheStreamWindowAndWindowUpdatesFollowWhatItTakes() {
    Peer peer = new Peer();
    peer.slow = true;
    peer.feed(new RawFrames().preface().headers(1, false,
        RawFrames.block(":method", "PUT", ":scheme", "https", ":path", "/up", ":authority", "x")));
    byte[] chunk = new byte[16_384];
    RawFrames up = new RawFrames();
    for (int i = 0; i < 3; i++) up.data(1, false, chunk);
    up.data(1, false, new byte[16_383]);
    peer.feed(up);
    assertEquals(65_535, peer.connection.body(1).remaining());
    assertTrue(peer.of(WindowUpdateFrame.class).stream().noneMatch(w -> w.getStreamId() == 1));
    // one more byte than the window: the stream is reset, the connection lives
    peer.feed(new RawFrames().data(1, false, new byte[1]));
    assertEquals(org.eclipse.jetty.http2.ErrorCode.FLOW_CONTROL_ERROR.code, peer.reset(1).getError());
    assertNull(peer.goAway());
    // a second stream read promptly gets its window back
    Peer other = new Peer();
    other.slow = true;
    other.feed(new RawFrames().preface().headers(1, false,
        RawFrames.block(":method", "PUT", ":scheme", "https", ":path", "/up", ":authority", "x")).data(1, false, new byte[16_384]).data(1, false, new byte[16_384]).data(1, false, new byte[7_232]));
    other.take(1);
    other.drain();
    assertEquals(40_000, other.of(WindowUpdateFrame.class).stream().filter(w -> w.getStreamId() == 1)
        .mapToInt(WindowUpdateFrame::getWindowDelta).sum());
  }

  @Test
  void aHeaderListOverTheLimitIsAnsweredNotDropped() {
    H2Settings s = new H2Settings(100, 65_535, 1 << 20, 16_384, 4096, 1000, 200, 4 << 20);
    Peer peer = new Peer(s).feed(new RawFrames().preface().headers(1, true, RawFrames.block(":method", "GET",
        ":scheme", "https", ":path", "/", ":authority", "x", "x-big", "a".repeat(5000))));
    assertEquals(1, peer.requests.size());
    assertEquals(WireError.Kind.FIELDS_TOO_LARGE, peer.requests.get(0).problem().kind());
    assertEquals(1, peer.count(Violation.FIELDS_TOO_LARGE));
    assertNull(peer.goAway());
  }

  @Test
  void aGracefulGoAwayNamesTheLastStreamAndRefusesLaterOnes() {
    Peer peer = new Peer().feed(new RawFrames().preface().get(1, "/").get(3, "/"));
    peer.connection.goAway();
    peer.feed(new RawFrames().get(5, "/"));
    assertEquals(3, peer.goAway().getLastStreamId());
    assertEquals(org.eclipse.jetty.http2.ErrorCode.REFUSED_STREAM_ERROR.code, peer.reset(5).getError());
    assertEquals(2, peer.requests.size());
    assertTrue(peer.connection.goingAway());
    assertNotNull(peer.connection.output());
  }
}
