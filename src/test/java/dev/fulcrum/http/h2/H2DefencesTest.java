package dev.fulcrum.http.h2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.eclipse.jetty.http2.ErrorCode;
import org.eclipse.jetty.http2.frames.GoAwayFrame;
import org.junit.jupiter.api.Test;

/** Each defence of the issue, fed as a raw frame sequence: answered, counted, and the connection ends or lives on. */
class H2DefencesTest {
  private static void assertGoAway(Peer peer, ErrorCode code, Violation counted) {
    GoAwayFrame goAway = peer.goAway();
    assertNotNull(goAway, "no GOAWAY; frames: " + peer.frames);
    assertEquals(code.code, goAway.getError(), goAway.tryConvertPayload());
    assertTrue(peer.connection.closed());
    assertTrue(peer.count(counted) >= 1, peer.violations.toString());
  }

  @Test
  void aPrefaceThatIsNotOneEndsTheConnection() {
    Peer peer = new Peer().feed("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    assertGoAway(peer, ErrorCode.PROTOCOL_ERROR, Violation.BAD_PREFACE);
  }

  @Test
  void aPrefaceNotFollowedBySettingsEndsTheConnection() {
    RawFrames f = new RawFrames();
    f.frame(RawFrames.PING, 0, 0, new byte[8]);
    byte[] bytes = concat(RawFrames.PREFACE, f.bytes());
    Peer peer = new Peer().feed(bytes);
    assertNotNull(peer.goAway());
    assertEquals(ErrorCode.PROTOCOL_ERROR.code, peer.goAway().getError());
  }

  @Test
  void rapidResetEndsTheConnectionWithEnhanceYourCalm() {
    RawFrames f = new RawFrames().preface();
    for (int id = 1; id < 2 * 1000; id += 2) f.get(id, "/").rst(id, ErrorCode.CANCEL_STREAM_ERROR.code);
    Peer peer = new Peer().feed(f);
    assertGoAway(peer, ErrorCode.ENHANCE_YOUR_CALM_ERROR, Violation.RAPID_RESET);
    // the 200 resets up to the limit reached the engine, and the stream the GOAWAY cut short; none after
    assertEquals(201, peer.events.stream().filter(e -> e.startsWith("reset")).count());
  }

  @Test
  void resetsSpreadOverTimeAreNotAnAttack() {
    Peer peer = new Peer().feed(new RawFrames().preface());
    int id = 1;
    for (int second = 0; second < 5; second++) {
      RawFrames f = new RawFrames();
      for (int i = 0; i < 150; i++, id += 2) f.get(id, "/").rst(id, ErrorCode.CANCEL_STREAM_ERROR.code);
      peer.feed(f);
      peer.now += 1_000_000_000L;
    }
    assertNull(peer.goAway());
    assertEquals(750, peer.requests.size());
  }

  @Test
  void aContinuationFloodEndsTheConnection() {
    RawFrames f = new RawFrames().preface();
    f.frame(RawFrames.HEADERS, 0, 1, RawFrames.block(":method", "GET"));
    for (int i = 0; i < 5000; i++) f.frame(RawFrames.CONTINUATION, 0, 1, new byte[0]);
    Peer peer = new Peer().feed(f);
    assertGoAway(peer, ErrorCode.ENHANCE_YOUR_CALM_ERROR, Violation.CONTINUATION_FLOOD);
  }

  @Test
  void continuationsBeyondTheHeaderListLimitEndTheConnection() {
    RawFrames f = new RawFrames().preface();
    f.frame(RawFrames.HEADERS, 0, 1, RawFrames.block(":method", "GET"));
    byte[] fragment = RawFrames.block("x-filler", "a".repeat(16_000));
    for (int i = 0; i < 20; i++) f.frame(RawFrames.CONTINUATION, 0, 1, fragment);
    Peer peer = new Peer().feed(f);
    assertNotNull(peer.goAway());
    assertTrue(peer.connection.closed());
    assertTrue(peer.requests.isEmpty());
  }

  @Test
  void settingsPingPriorityAndEmptyDataFloodsEndTheConnection() {
    RawFrames settings = new RawFrames().preface();
    for (int i = 0; i < 1500; i++) settings.settings();
    assertGoAway(new Peer().feed(settings), ErrorCode.ENHANCE_YOUR_CALM_ERROR, Violation.CONTROL_FLOOD);

    RawFrames ping = new RawFrames().preface();
    for (int i = 0; i < 1500; i++) ping.ping(i);
    assertGoAway(new Peer().feed(ping), ErrorCode.ENHANCE_YOUR_CALM_ERROR, Violation.CONTROL_FLOOD);

    RawFrames priority = new RawFrames().preface();
    for (int i = 0; i < 1500; i++) priority.priority(2 * i + 1, 0);
    assertGoAway(new Peer().feed(priority), ErrorCode.ENHANCE_YOUR_CALM_ERROR, Violation.CONTROL_FLOOD);

    RawFrames empty = new RawFrames().preface().headers(1, false,
        RawFrames.block(":method", "POST", ":scheme", "https", ":path", "/", ":authority", "x"));
    for (int i = 0; i < 1500; i++) empty.data(1, false, new byte[0]);
    assertGoAway(new Peer().feed(empty), ErrorCode.ENHANCE_YOUR_CALM_ERROR, Violation.CONTROL_FLOOD);
  }

  @Test
  void aWindowUpdateFloodEndsTheConnection() {
    RawFrames f = new RawFrames().preface();
    for (int i = 0; i < 15_000; i++) f.windowUpdate(0, 1);
    assertGoAway(new Peer().feed(f), ErrorCode.ENHANCE_YOUR_CALM_ERROR, Violation.CONTROL_FLOOD);
  }

  @Test
  void pingsWhoseAnswersAreNeverReadEndTheConnection() {
    H2Settings s = new H2Settings(100, 65_535, 1 << 20, 16_384, 65_536, 100_000, 200, 65_536);
    Peer peer = new Peer(s);
    RawFrames f = new RawFrames().preface();
    for (int i = 0; i < 5000; i++) f.ping(i);
    peer.connection.feed(java.nio.ByteBuffer.wrap(f.bytes())); // and never drained: the client does not read
    assertTrue(peer.connection.closed());
    assertEquals(1, peer.count(Violation.OUTPUT_OVERFLOW));
  }

  @Test
  void anHpackBombIsStoppedWhileItInflates() {
    // one 4000-byte field in the dynamic table, then referenced 1000 times: 4 MB from 4 KB
    ByteArrayOutputStream block = new ByteArrayOutputStream();
    block.writeBytes(new byte[] {(byte) 0x82, (byte) 0x87, (byte) 0x84});
    block.write(0x40); // literal with incremental indexing, new name
    byte[] literal = RawFrames.block("x-bomb", "b".repeat(4000));
    block.write(literal, 1, literal.length - 1);
    for (int i = 0; i < 1000; i++) block.write(0x80 | 62); // the first dynamic entry
    Peer peer = new Peer().feed(new RawFrames().preface().headers(1, true, block.toByteArray()));
    assertNotNull(peer.goAway());
    assertTrue(peer.count(Violation.HPACK) >= 1, peer.violations.toString());
    assertTrue(peer.requests.isEmpty());
  }

  @Test
  void streamsBeyondTheConcurrencyLimitAreRefusedAndCounted() {
    RawFrames f = new RawFrames().preface();
    for (int id = 1; id <= 2 * 101; id += 2) {
      f.headers(id, false, RawFrames.block(":method", "POST", ":scheme", "https", ":path", "/", ":authority", "x"));
    }
    Peer peer = new Peer().feed(f);
    assertEquals(100, peer.requests.size());
    assertEquals(ErrorCode.REFUSED_STREAM_ERROR.code, peer.reset(201).getError());
    assertEquals(1, peer.count(Violation.TOO_MANY_STREAMS));
    assertNull(peer.goAway());
  }

  @Test
  void aWindowPastTheMaximumIsAFlowControlError() {
    Peer stream = new Peer().feed(new RawFrames().preface().headers(1, false,
        RawFrames.block(":method", "POST", ":scheme", "https", ":path", "/", ":authority", "x"))
        .windowUpdate(1, Integer.MAX_VALUE));
    assertEquals(ErrorCode.FLOW_CONTROL_ERROR.code, stream.reset(1).getError());
    assertEquals(1, stream.count(Violation.FLOW_CONTROL));

    Peer connection = new Peer().feed(new RawFrames().preface().windowUpdate(0, Integer.MAX_VALUE));
    assertGoAway(connection, ErrorCode.FLOW_CONTROL_ERROR, Violation.FLOW_CONTROL);
  }

  @Test
  void dataBeyondTheConnectionWindowEndsTheConnection() {
    H2Settings s = new H2Settings(100, 1 << 20, 65_535, 16_384, 65_536, 1000, 200, 4 << 20);
    Peer peer = new Peer(s);
    peer.slow = true;
    RawFrames f = new RawFrames().preface().headers(1, false,
        RawFrames.block(":method", "POST", ":scheme", "https", ":path", "/", ":authority", "x"));
    for (int i = 0; i < 5; i++) f.data(1, false, new byte[16_384]);
    peer.feed(f);
    assertGoAway(peer, ErrorCode.FLOW_CONTROL_ERROR, Violation.FLOW_CONTROL);
  }

  @Test
  void contentLengthThatDisagreesWithDataIsRefusedNeverForwarded() {
    Peer more = new Peer().feed(new RawFrames().preface().headers(1, false, RawFrames.block(":method", "POST",
        ":scheme", "https", ":path", "/", ":authority", "x", "content-length", "3")).data(1, true, new byte[10]));
    assertEquals(ErrorCode.PROTOCOL_ERROR.code, more.reset(1).getError());
    assertTrue(more.events.contains("reset 1 1"), more.events.toString());
    assertEquals(1, more.count(Violation.CONTENT_LENGTH));
    assertTrue(more.bodies.isEmpty(), "no byte of the body reached the engine");

    Peer less = new Peer().feed(new RawFrames().preface().headers(1, false, RawFrames.block(":method", "POST",
        ":scheme", "https", ":path", "/", ":authority", "x", "content-length", "30")).data(1, true, new byte[10]));
    assertEquals(ErrorCode.PROTOCOL_ERROR.code, less.reset(1).getError());
    assertEquals(1, less.count(Violation.CONTENT_LENGTH));

    Peer twoLengths = new Peer().feed(new RawFrames().preface().headers(1, false, RawFrames.block(":method", "POST",
        ":scheme", "https", ":path", "/", ":authority", "x", "content-length", "3", "content-length", "4")));
    assertEquals(ErrorCode.PROTOCOL_ERROR.code, twoLengths.reset(1).getError());
    assertTrue(twoLengths.requests.isEmpty());
  }

  @Test
  void crLfNulAndConnectionSpecificFieldsAreRefusedNeverForwarded() {
    String[][] bad = {
        {"x-evil", "a\r\nTransfer-Encoding: chunked"},
        {"x-evil", "a\nb"},
        {"x-evil", "a\0b"},
        {"X-Upper", "a"},
        {"x sp", "a"},
        {"transfer-encoding", "chunked"},
        {"connection", "keep-alive"},
        {"keep-alive", "5"},
        {"upgrade", "websocket"},
        {"proxy-connection", "x"},
        {"te", "gzip"},
        {"x-pad", " a"},
        {"host", "other.example"},
    };
    for (String[] field : bad) {
      Peer peer = new Peer().feed(new RawFrames().preface().headers(1, true, RawFrames.block(":method", "GET",
          ":scheme", "https", ":path", "/", ":authority", "x", field[0], field[1])));
      assertTrue(peer.requests.isEmpty(), "forwarded: " + field[0]);
      assertNotNull(peer.reset(1), "not refused: " + field[0]);
      assertEquals(ErrorCode.PROTOCOL_ERROR.code, peer.reset(1).getError(), field[0]);
      assertNull(peer.goAway(), field[0]);
    }
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] all = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, all, a.length, b.length);
    return all;
  }
}
