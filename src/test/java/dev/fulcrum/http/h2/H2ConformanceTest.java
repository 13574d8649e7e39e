package dev.fulcrum.http.h2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Set;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.eclipse.jetty.http2.ErrorCode;
import org.eclipse.jetty.http2.frames.GoAwayFrame;
import org.eclipse.jetty.http2.frames.PingFrame;
import org.eclipse.jetty.http2.frames.ResetFrame;
import org.eclipse.jetty.http2.frames.SettingsFrame;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Conformance cases modelled on h2spec's sections of RFC 9113 and RFC 7541 (h2spec itself is not installable here):
 * each sends what the h2spec case sends after a valid preface and expects what it expects, a connection error
 * (GOAWAY with one of the codes) or a stream error (RST_STREAM, or GOAWAY, with one of the codes).
 */
class H2ConformanceTest {
  private static final int PROTOCOL = ErrorCode.PROTOCOL_ERROR.code;
  private static final int FRAME_SIZE = ErrorCode.FRAME_SIZE_ERROR.code;
  private static final int FLOW = ErrorCode.FLOW_CONTROL_ERROR.code;
  private static final int CLOSED = ErrorCode.STREAM_CLOSED_ERROR.code;
  private static final int COMPRESSION = ErrorCode.COMPRESSION_ERROR.code;

  private static byte[] post() {
    return RawFrames.block(":method", "POST", ":scheme", "https", ":path", "/", ":authority", "x");
  }

  private static byte[] get() {
    return RawFrames.block(":method", "GET", ":scheme", "https", ":path", "/", ":authority", "x");
  }

  private static Arguments connection(String section, Consumer<RawFrames> send, int... codes) {
    return Arguments.of(section, send, true, codes);
  }

  private static Arguments stream(String section, Consumer<RawFrames> send, int... codes) {
    return Arguments.of(section, send, false, codes);
  }

  static Stream<Arguments> cases() {
    return Stream.of(
        // 4.2 frame size
        connection("4.2/1 DATA larger than SETTINGS_MAX_FRAME_SIZE", f -> f.headers(1, false, post())
            .data(1, false, new byte[16_385]), FRAME_SIZE),
        connection("4.2/3 HEADERS larger than SETTINGS_MAX_FRAME_SIZE", f -> f.headers(1, true,
            RawFrames.block(":method", "GET", ":scheme", "https", ":path", "/", ":authority", "x", "x-a",
                "a".repeat(17_000))), FRAME_SIZE),
        // 4.3 header compression
        connection("4.3/1 invalid header block", f -> f.headers(1, true, new byte[] {(byte) 0x82, (byte) 0xff,
            (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x7f}), COMPRESSION, PROTOCOL),
        connection("4.3/3 a header block interrupted by another frame", f -> f.frame(RawFrames.HEADERS, 0, 1, get())
            .priority(3, 0), PROTOCOL),
        // 5.1 stream states
        connection("5.1/1 idle: DATA", f -> f.data(1, true, new byte[1]), PROTOCOL),
        connection("5.1/2 idle: RST_STREAM", f -> f.rst(1, 8), PROTOCOL),
        connection("5.1/3 idle: WINDOW_UPDATE", f -> f.windowUpdate(1, 100), PROTOCOL),
        connection("5.1/4 idle: CONTINUATION", f -> f.frame(RawFrames.CONTINUATION, RawFrames.END_HEADERS, 1, get()),
            PROTOCOL),
        stream("5.1/5 half closed (remote): DATA", f -> f.headers(1, true, get()).data(1, true, new byte[1]), CLOSED),
        stream("5.1/6 half closed (remote): HEADERS", f -> f.headers(1, true, get()).headers(1, true, get()), CLOSED),
        connection("5.1/7 half closed (remote): CONTINUATION", f -> f.headers(1, true, get())
            .frame(RawFrames.CONTINUATION, RawFrames.END_HEADERS, 1, get()), CLOSED, PROTOCOL),
        connection("5.1/8 closed: DATA after RST_STREAM", f -> f.headers(1, false, post()).rst(1, 8)
            .data(1, true, new byte[1]), CLOSED),
        connection("5.1/9 closed: HEADERS after RST_STREAM", f -> f.headers(1, false, post()).rst(1, 8)
            .headers(1, true, get()), CLOSED),
        connection("5.1/10 closed: CONTINUATION after RST_STREAM", f -> f.headers(1, false, post()).rst(1, 8)
            .frame(RawFrames.CONTINUATION, RawFrames.END_HEADERS, 1, get()), CLOSED, PROTOCOL),
        // 5.1.1 stream identifiers
        connection("5.1.1/1 an even stream id", f -> f.headers(2, true, get()), PROTOCOL),
        connection("5.1.1/2 a stream id lower than one opened", f -> f.headers(5, true, get()).headers(3, true, get()),
            PROTOCOL),
        // 5.3.1 / 6.3 priority
        stream("5.3.1/1 a HEADERS stream depending on itself", f -> f.frame(RawFrames.HEADERS,
            RawFrames.END_HEADERS | RawFrames.END_STREAM | 0x20, 1, prioritized(1, get())), PROTOCOL),
        stream("5.3.1/2 a PRIORITY stream depending on itself", f -> f.priority(1, 1), PROTOCOL),
        connection("6.3/1 PRIORITY on stream 0", f -> f.priority(0, 1), PROTOCOL),
        stream("6.3/2 PRIORITY of length 4", f -> f.frame(RawFrames.PRIORITY, 0, 1, new byte[4]), FRAME_SIZE),
        // 5.5 extending
        connection("5.5/2 an unknown frame in the middle of a header block", f -> f
            .frame(RawFrames.HEADERS, 0, 1, get()).frame(0x16, 0, 1, new byte[4]), PROTOCOL),
        // 6.1 DATA
        connection("6.1/1 DATA on stream 0", f -> f.data(0, true, new byte[1]), PROTOCOL),
        stream("6.1/2 DATA on a half closed stream", f -> f.headers(1, true, get()).data(1, true, new byte[1]), CLOSED),
        connection("6.1/3 DATA with a pad length past its end", f -> f.headers(1, false, post())
            .frame(RawFrames.DATA, RawFrames.PADDED | RawFrames.END_STREAM, 1, new byte[] {10, 1, 2}), PROTOCOL),
        // 6.2 HEADERS
        connection("6.2/1 HEADERS followed by another frame than CONTINUATION", f -> f
            .frame(RawFrames.HEADERS, 0, 1, get()).data(1, true, new byte[1]), PROTOCOL),
        connection("6.2/3 HEADERS on stream 0", f -> f.headers(0, true, get()), PROTOCOL),
        connection("6.2/4 HEADERS with a pad length past its end", f -> f.frame(RawFrames.HEADERS,
            RawFrames.END_HEADERS | RawFrames.PADDED, 1, concat(new byte[] {(byte) 200}, get())), PROTOCOL),
        // 6.4 RST_STREAM
        connection("6.4/1 RST_STREAM on stream 0", f -> f.rst(0, 8), PROTOCOL),
        connection("6.4/2 RST_STREAM on an idle stream", f -> f.rst(1, 8), PROTOCOL),
        connection("6.4/3 RST_STREAM of length 3", f -> f.headers(1, false, post())
            .frame(RawFrames.RST_STREAM, 0, 1, new byte[3]), FRAME_SIZE),
        // 6.5 SETTINGS
        connection("6.5/1 SETTINGS ACK with a payload", f -> f.frame(RawFrames.SETTINGS, RawFrames.ACK, 0, new byte[6]),
            FRAME_SIZE),
        connection("6.5/2 SETTINGS on a stream", f -> f.frame(RawFrames.SETTINGS, 0, 1, new byte[6]), PROTOCOL),
        connection("6.5/3 SETTINGS of length 3", f -> f.frame(RawFrames.SETTINGS, 0, 0, new byte[3]), FRAME_SIZE),
        connection("6.5.2/1 SETTINGS_ENABLE_PUSH 2", f -> f.settings(2, 2), PROTOCOL),
        connection("6.5.2/2 SETTINGS_INITIAL_WINDOW_SIZE 2^31", f -> f.settings(4, 0x80000000), FLOW),
        connection("6.5.2/3 SETTINGS_MAX_FRAME_SIZE too small", f -> f.settings(5, 16_383), PROTOCOL),
        connection("6.5.2/4 SETTINGS_MAX_FRAME_SIZE too large", f -> f.settings(5, 16_777_216), PROTOCOL),
        // 6.7 PING
        connection("6.7/3 PING on a stream", f -> f.frame(RawFrames.PING, 0, 1, new byte[8]), PROTOCOL),
        connection("6.7/4 PING of length 6", f -> f.frame(RawFrames.PING, 0, 0, new byte[6]), FRAME_SIZE),
        // 6.8 GOAWAY
        connection("6.8/1 GOAWAY on a stream", f -> f.frame(RawFrames.GOAWAY, 0, 1, new byte[8]), PROTOCOL),
        // 6.9 WINDOW_UPDATE
        connection("6.9/1 WINDOW_UPDATE of 0 on the connection", f -> f.windowUpdate(0, 0), PROTOCOL),
        stream("6.9/2 WINDOW_UPDATE of 0 on a stream", f -> f.headers(1, false, post()).windowUpdate(1, 0), PROTOCOL),
        connection("6.9/3 WINDOW_UPDATE of length 3", f -> f.frame(RawFrames.WINDOW_UPDATE, 0, 0, new byte[3]),
            FRAME_SIZE),
        connection("6.9.1/2 the connection window past 2^31-1", f -> f.windowUpdate(0, Integer.MAX_VALUE), FLOW),
        stream("6.9.1/3 a stream window past 2^31-1", f -> f.headers(1, false, post())
            .windowUpdate(1, Integer.MAX_VALUE), FLOW),
        connection("6.9.2/3 SETTINGS_INITIAL_WINDOW_SIZE past 2^31-1", f -> f.settings(4, 0x80000000), FLOW),
        // 6.10 CONTINUATION
        connection("6.10/4 CONTINUATION after END_HEADERS", f -> f.headers(1, false, post())
            .frame(RawFrames.CONTINUATION, RawFrames.END_HEADERS, 1, get()), PROTOCOL),
        connection("6.10/5 CONTINUATION on another stream", f -> f.frame(RawFrames.HEADERS, 0, 1, get())
            .frame(RawFrames.CONTINUATION, RawFrames.END_HEADERS, 3, RawFrames.block("x-a", "1")), PROTOCOL),
        connection("6.10/6 CONTINUATION on stream 0", f -> f.frame(RawFrames.HEADERS, 0, 1, get())
            .frame(RawFrames.CONTINUATION, RawFrames.END_HEADERS, 0, new byte[0]), PROTOCOL),
        // 8.1 HTTP message exchanges
        stream("8.1/1 trailers without END_STREAM", f -> f.headers(1, false, post()).data(1, false, new byte[1])
            .headers(1, false, RawFrames.block("x-trailer", "1")), PROTOCOL),
        stream("8.1.2/1 an uppercase field name", f -> f.headers(1, true, RawFrames.block(":method", "GET",
            ":scheme", "https", ":path", "/", ":authority", "x", "X-Test", "1")), PROTOCOL),
        stream("8.1.2.1/1 an unknown pseudo-header", f -> f.headers(1, true, RawFrames.block(":method", "GET",
            ":scheme", "https", ":path", "/", ":authority", "x", ":test", "1")), PROTOCOL),
        stream("8.1.2.1/2 a response pseudo-header in a request", f -> f.headers(1, true, RawFrames.block(":method",
            "GET", ":scheme", "https", ":path", "/", ":authority", "x", ":status", "200")), PROTOCOL),
        stream("8.1.2.1/3 a pseudo-header in trailers", f -> f.headers(1, false, post()).data(1, false, new byte[1])
            .headers(1, true, RawFrames.block(":method", "POST")), PROTOCOL),
        stream("8.1.2.1/4 a pseudo-header after a regular one", f -> f.headers(1, true, RawFrames.block(":method",
            "GET", ":scheme", "https", "x-a", "1", ":path", "/", ":authority", "x")), PROTOCOL),
        stream("8.1.2.2/1 a connection-specific field", f -> f.headers(1, true, RawFrames.block(":method", "GET",
            ":scheme", "https", ":path", "/", ":authority", "x", "connection", "keep-alive")), PROTOCOL),
        stream("8.1.2.2/2 TE other than trailers", f -> f.headers(1, true, RawFrames.block(":method", "GET",
            ":scheme", "https", ":path", "/", ":authority", "x", "te", "trailers, deflate")), PROTOCOL),
        stream("8.1.2.3/1 an empty :path", f -> f.headers(1, true, RawFrames.block(":method", "GET",
            ":scheme", "https", ":path", "", ":authority", "x")), PROTOCOL),
        stream("8.1.2.3/2 no :method", f -> f.headers(1, true, RawFrames.block(":scheme", "https", ":path", "/",
            ":authority", "x")), PROTOCOL),
        stream("8.1.2.3/3 no :scheme", f -> f.headers(1, true, RawFrames.block(":method", "GET", ":path", "/",
            ":authority", "x")), PROTOCOL),
        stream("8.1.2.3/4 no :path", f -> f.headers(1, true, RawFrames.block(":method", "GET", ":scheme", "https",
            ":authority", "x")), PROTOCOL),
        stream("8.1.2.3/5 a duplicated :method", f -> f.headers(1, true, RawFrames.block(":method", "GET",
            ":method", "POST", ":scheme", "https", ":path", "/", ":authority", "x")), PROTOCOL),
        stream("8.1.2.3/7 a duplicated :path", f -> f.headers(1, true, RawFrames.block(":method", "GET",
            ":scheme", "https", ":path", "/", ":path", "/a", ":authority", "x")), PROTOCOL),
        stream("8.1.2.6/1 content-length above the DATA", f -> f.headers(1, false, RawFrames.block(":method", "POST",
            ":scheme", "https", ":path", "/", ":authority", "x", "content-length", "1")).data(1, true, new byte[4]),
            PROTOCOL),
        stream("8.1.2.6/2 content-length below the DATA", f -> f.headers(1, false, RawFrames.block(":method", "POST",
            ":scheme", "https", ":path", "/", ":authority", "x", "content-length", "8")).data(1, false, new byte[4])
            .data(1, true, new byte[0]), PROTOCOL),
        stream("CONNECT is not offered", f -> f.headers(1, false, RawFrames.block(":method", "CONNECT",
            ":authority", "x:443")), PROTOCOL),
        // RFC 7541 (h2spec hpack section)
        connection("hpack/2.3.3/1 an index past the tables", f -> f.headers(1, true, new byte[] {(byte) 0x82,
            (byte) 0x87, (byte) 0x84, (byte) 0xff, 0x10}), COMPRESSION, PROTOCOL),
        connection("hpack/4.2/1 a table size update larger than allowed", f -> f.headers(1, true,
            concat(tableSizeUpdate(1 << 20), get())), COMPRESSION, PROTOCOL),
        connection("hpack/5.2/1 Huffman padding longer than 7 bits", f -> f.headers(1, true, concat(get(),
            new byte[] {0x00, (byte) 0x83, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x01, 0x61})), COMPRESSION, PROTOCOL)
    );
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void answersAsTheRfcSays(String section, Consumer<RawFrames> send, boolean connectionError, int[] codes) {
    RawFrames frames = new RawFrames().preface().settingsAck();
    send.accept(frames);
    Peer peer = new Peer().feed(frames);
    Set<Integer> expected = new java.util.HashSet<>();
    for (int c : codes) expected.add(c);
    GoAwayFrame goAway = peer.goAway();
    if (connectionError) {
      assertNotNull(goAway, section + ": no GOAWAY; frames: " + peer.frames);
      assertTrue(expected.contains(goAway.getError()), section + ": GOAWAY " + ErrorCode.from(goAway.getError()));
      assertTrue(peer.connection.closed());
      return;
    }
    ResetFrame reset = peer.of(ResetFrame.class).isEmpty() ? null : peer.of(ResetFrame.class).get(0);
    if (reset != null) {
      assertTrue(expected.contains(reset.getError()), section + ": RST_STREAM " + ErrorCode.from(reset.getError()));
      assertTrue(peer.requests.isEmpty() || peer.events.stream().anyMatch(e -> e.startsWith("reset")),
          section + ": forwarded and never cancelled");
    } else if (goAway != null) {
      assertTrue(expected.contains(goAway.getError()), section + ": GOAWAY " + ErrorCode.from(goAway.getError()));
    } else {
      fail(section + ": neither RST_STREAM nor GOAWAY; frames: " + peer.frames);
    }
  }

  // 3.5 preface, 4.1 frame format, 5.5/1, 6.5 and 6.7 cases that expect an answer rather than an error

  @Test
  void prefaceAndSettingsAreAcknowledged() {
    Peer peer = new Peer().feed(new RawFrames().preface());
    assertTrue(peer.of(SettingsFrame.class).stream().anyMatch(SettingsFrame::isReply));
    assertNull(peer.goAway());
  }

  @Test
  void unknownFrameTypesFlagsAndSettingsAreIgnored() {
    RawFrames f = new RawFrames().preface();
    f.frame(0x16, 0xff, 0, new byte[8]);
    f.settings(0x99, 1);
    f.frame(RawFrames.PING, 0xfe & ~RawFrames.ACK, 0, new byte[8]);
    f.headers(1, true, get());
    Peer peer = new Peer().feed(f);
    assertNull(peer.goAway());
    assertEquals(1, peer.requests.size());
    assertEquals(1, peer.of(PingFrame.class).size());
  }

  @Test
  void pingIsAnsweredWithItsPayload() {
    Peer peer = new Peer().feed(new RawFrames().preface().ping(0x0102030405060708L));
    PingFrame pong = peer.of(PingFrame.class).get(0);
    assertTrue(pong.isReply());
    assertArrayEquals(new byte[] {1, 2, 3, 4, 5, 6, 7, 8}, pong.getPayload());
  }

  @Test
  void aNegativeWindowFromSettingsIsHonoured() {
    // 6.9.2/1: SETTINGS_INITIAL_WINDOW_SIZE lowered below what was sent makes the window negative; sends wait
    Peer peer = new Peer().feed(new RawFrames().preface().settings(4, 10).headers(1, true, get()));
    peer.connection.respond(1, 200, new dev.fulcrum.http.wire.HeaderFields(), false);
    java.nio.ByteBuffer body = java.nio.ByteBuffer.allocate(30);
    assertEquals(10, peer.connection.data(1, body, true));
    peer.feed(new RawFrames().settings(4, 0));
    assertEquals(0, peer.connection.data(1, body, true));
    peer.feed(new RawFrames().windowUpdate(1, 10));
    assertEquals(0, peer.connection.data(1, body, true), "the window is still -10 + 10 = 0");
    peer.feed(new RawFrames().settings(4, 20));
    assertEquals(20, peer.connection.data(1, body, true));
    assertNull(peer.goAway());
  }

  private static byte[] prioritized(int dependsOn, byte[] block) {
    byte[] p = new byte[5];
    p[0] = (byte) (dependsOn >>> 24);
    p[1] = (byte) (dependsOn >>> 16);
    p[2] = (byte) (dependsOn >>> 8);
    p[3] = (byte) dependsOn;
    p[4] = 15;
    return concat(p, block);
  }

  private static byte[] tableSizeUpdate(int size) {
    java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
    RawFrames.integer(b, size, 5, 0x20);
    return b.toByteArray();
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] all = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, all, a.length, b.length);
    return all;
  }
}
