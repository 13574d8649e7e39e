package dev.fulcrum.http.wire;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class ChunkedScannerTest {
  private static final int AT = 5;
  private static final String NEXT = "GET /next HTTP/1.1\r\nHost: a\r\n\r\n";

  static Stream<Arguments> bodies() {
    return Stream.of(
        Arguments.of("0\r\n\r\n", 0),
        Arguments.of("5\r\nhello\r\n0\r\n\r\n", 5),
        Arguments.of("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", 11),
        Arguments.of("A\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n", 20),
        Arguments.of("00000005\r\nhello\r\n000\r\n\r\n", 5),
        Arguments.of("4\r\n\r\n\r\n\r\n0\r\n\r\n", 4),
        Arguments.of("5;name=value\r\nhello\r\n0;last\r\n\r\n", 5),
        Arguments.of("5 ;a=b\r\nhello\r\n0\t ; x = \"quoted;\\\" \u00e9\"\r\n\r\n", 5),
        Arguments.of("5\r\nhello\r\n0\r\nExpires: never\r\nX-Sum:\t abc \r\n\r\n", 5),
        Arguments.of("3\r\n\u0000\r\n\r\n0\r\n\r\n", 3));
  }

  @ParameterizedTest
  @MethodSource("bodies")
  void scansInOneGoAndByteByByteAlike(String body, long dataSize) throws Exception {
    for (boolean direct : new boolean[] {false, true}) {
      ByteBuffer buf = buffer(body + NEXT, direct);
      int end = AT + body.length();

      ChunkedScanner whole = new ChunkedScanner(Long.MAX_VALUE);
      assertEquals(end, whole.scan(buf, AT, buf.capacity()));
      assertTrue(whole.done());
      assertEquals(dataSize, whole.dataSize());

      ChunkedScanner bytes = new ChunkedScanner(Long.MAX_VALUE);
      int i = AT;
      while (!bytes.done()) {
        int next = bytes.scan(buf, i, i + 1);
        assertEquals(i + 1, next, "one byte consumed at " + i);
        i = next;
      }
      assertEquals(end, i);
      assertEquals(dataSize, bytes.dataSize());

      for (int split = AT + 1; split < end; split = nextSplit(split, AT, end)) {
        ChunkedScanner two = new ChunkedScanner(Long.MAX_VALUE);
        int at = two.scan(buf, AT, split);
        if (!two.done()) at = two.scan(buf, at, buf.capacity());
        assertEquals(end, at, "split at " + split);
        assertEquals(dataSize, two.dataSize(), "split at " + split);
      }
    }
  }

  @ParameterizedTest
  @MethodSource("bodies")
  void scansInTwoPiecesSplitAnywhere(String body, long dataSize) throws Exception {
    ByteBuffer buf = buffer(body + NEXT, true);
    int end = AT + body.length();
    ChunkedScanner scanner = new ChunkedScanner(Long.MAX_VALUE);
    for (int split = AT; split < end; split++) {
      scanner.reset();
      assertEquals(split, scanner.scan(buf, AT, split));
      assertFalse(scanner.done());
      assertEquals(end, scanner.scan(buf, split, buf.capacity()), "split at " + split);
      assertTrue(scanner.done());
      assertEquals(dataSize, scanner.dataSize());
    }
  }

  @Test
  void consumesNothingOnceDone() throws Exception {
    ByteBuffer buf = buffer("0\r\n\r\n" + NEXT, false);
    ChunkedScanner scanner = new ChunkedScanner(10);
    int end = scanner.scan(buf, AT, buf.capacity());
    assertEquals(end, scanner.scan(buf, end, buf.capacity()));
    assertTrue(scanner.done());
  }

  @Test
  void keepsTheBuffersPositionAndLimit() throws Exception {
    ByteBuffer buf = buffer("5\r\nhello\r\n0\r\n\r\n", true);
    buf.position(2);
    new ChunkedScanner(Long.MAX_VALUE).scan(buf, AT, buf.capacity());
    assertEquals(2, buf.position());
    assertEquals(buf.capacity(), buf.limit());
  }

  @Test
  void resetReusesTheScannerForTheNextMessage() throws Exception {
    ByteBuffer buf = buffer("3\r\nabc\r\n0\r\n\r\n4\r\nabcd\r\n0\r\n\r\n", false);
    ChunkedScanner scanner = new ChunkedScanner(4);
    int first = scanner.scan(buf, AT, buf.capacity());
    assertEquals(3, scanner.dataSize());
    scanner.reset();
    assertFalse(scanner.done());
    assertEquals(buf.capacity(), scanner.scan(buf, first, buf.capacity()));
    assertEquals(4, scanner.dataSize());
  }

  @Test
  void jumpsOverLargeChunks() throws Exception {
    int size = 1 << 20;
    byte[] head = (Integer.toHexString(size) + "\r\n").getBytes(ISO_8859_1);
    byte[] tail = "\r\n0\r\n\r\n".getBytes(ISO_8859_1);
    ByteBuffer buf = ByteBuffer.allocateDirect(head.length + size + tail.length);
    buf.put(head).position(head.length + size).put(tail);
    ChunkedScanner scanner = new ChunkedScanner(Long.MAX_VALUE);
    // as 64 KiB reads would deliver it
    int i = 0;
    while (!scanner.done()) i = scanner.scan(buf, i, Math.min(i + 65536, buf.capacity()));
    assertEquals(buf.capacity(), i);
    assertEquals(size, scanner.dataSize());
  }

  @Test
  void theDataLimitIsInclusive() throws Exception {
    ByteBuffer buf = buffer("5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n", false);
    ChunkedScanner scanner = new ChunkedScanner(10);
    assertEquals(buf.capacity(), scanner.scan(buf, AT, buf.capacity()));
    assertEquals(10, scanner.dataSize());
  }

  @Test
  void dataOverTheLimitIs413() {
    ByteBuffer buf = buffer("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", true);
    ChunkedScanner scanner = new ChunkedScanner(10);
    assertEquals(-1, scanner.scan(buf, AT, buf.capacity()));
    assertTrue(scanner.failed());
    assertEquals(new WireError(WireError.Kind.BODY_TOO_LARGE, "chunked body larger than 10 bytes"), scanner.error());
  }

  @Test
  void aHugeChunkSizeIsRefusedBeforeItsData() {
    ByteBuffer buf = buffer("7fffffffffffffff\r\n", false);
    ChunkedScanner scanner = new ChunkedScanner(1 << 20);
    assertEquals(-1, scanner.scan(buf, AT, buf.capacity()));
    assertEquals(WireError.Kind.BODY_TOO_LARGE, scanner.error().kind());
  }

  @Test
  void extensionsAndTrailersHaveCaps() throws Exception {
    String ext = "x".repeat(4095);
    ChunkedScanner scanner = new ChunkedScanner(Long.MAX_VALUE);
    ByteBuffer ok = buffer("1;" + ext + "\r\na\r\n0\r\n\r\n", false);
    assertEquals(ok.capacity(), scanner.scan(ok, AT, ok.capacity()));
    assertFails(400, "1;" + ext + "x\r\na\r\n0\r\n\r\n");

    // the trailer section counts every byte after the last chunk's line, its final CRLF included
    String field = "X: " + "v".repeat(65536 - 7) + "\r\n";
    scanner.reset();
    ByteBuffer trailers = buffer("0\r\n" + field + "\r\n", true);
    assertEquals(trailers.capacity(), scanner.scan(trailers, AT, trailers.capacity()));
    assertFails(400, "0\r\nX" + field + "\r\n");
  }

  @ParameterizedTest(name = "[{index}] {0}")
  @ValueSource(strings = {
    "",
    "\r\n",
    ";x\r\n",
    " 5\r\nhello\r\n0\r\n\r\n",
    "+5\r\nhello\r\n0\r\n\r\n",
    "-1\r\n",
    "0x5\r\nhello\r\n0\r\n\r\n",
    "g\r\n",
    "5 \r\nhello\r\n0\r\n\r\n",
    "5 x\r\n",
    "5\nhello\r\n0\r\n\r\n",
    "5\rhello\r\n0\r\n\r\n",
    "5\r\rhello\r\n",
    "5;a\nhello\r\n",
    "5;a\rb\r\nhello\r\n",
    "5;a\u0000\r\nhello\r\n",
    "5;a\u007f\r\nhello\r\n",
    "5\r\nhelloX\r\n0\r\n\r\n",
    "5\r\nhello\n0\r\n\r\n",
    "5\r\nhello\r0\r\n\r\n",
    "5\r\nhello\r\n0\n\r\n",
    "5\r\nhello\r\n0\r\n\n",
    "5\r\nhello\r\n0\r\n\rX",
    "5\r\nhello\r\n0\r\nX: a\nY: b\r\n\r\n",
    "5\r\nhello\r\n0\r\nX: a\rY: b\r\n\r\n",
    "5\r\nhello\r\n0\r\nX: a\u0000\r\n\r\n",
    "10000000000000000\r\n",
    "00000000000000001\r\n",
    "8000000000000000\r\n",
    "ffffffffffffffff\r\n",
    "fffffffffffffffff\r\n"
  })
  void malformedBodiesAre400(String body) {
    assertFails(400, body + NEXT);
  }

  /** A body that Fulcrum and a backend could end at different bytes, putting a request of the attacker's in between. */
  @ParameterizedTest(name = "[{index}] {0}")
  @MethodSource
  void smuggling(String attack, String body) {
    assertFails(400, body);
  }

  static Stream<Arguments> smuggling() {
    String hidden = "GET /admin HTTP/1.1\r\nHost: a\r\n\r\n";
    return Stream.of(
        Arguments.of("LF-terminated size line", "2\nxx\r\n0\r\n\r\n" + hidden),
        Arguments.of("LF in an extension", "2;\nxx\r\n45\r\n" + hidden + "0\r\n\r\n"),
        Arguments.of("data longer than its size", "2\r\nxxx\r\n0\r\n\r\n"),
        Arguments.of("data ended by LF alone", "2\r\nxx\n0\r\n\r\n" + hidden),
        Arguments.of("data ended by a lone CR", "2\r\nxx\r0\r\n\r\n"),
        Arguments.of("size overflowing to a small one", "10000000000000005\r\nhello\r\n0\r\n\r\n"),
        Arguments.of("size with a leading plus", "+2\r\nxx\r\n0\r\n\r\n"),
        Arguments.of("size with an underscore", "1_0\r\n" + "x".repeat(16) + "\r\n0\r\n\r\n"),
        Arguments.of("size with 0x", "0x2\r\nxx\r\n0\r\n\r\n"),
        Arguments.of("whitespace after the size", "2 \r\nxx\r\n0\r\n\r\n"),
        Arguments.of("last chunk ended by LF", "0\n\r\n" + hidden));
  }

  @Test
  void theScannerCountsOnlyWhatItWasGiven() throws Exception {
    // a partially delivered chunk: the data so far is counted, the rest awaited
    ByteBuffer buf = buffer("a\r\n01234", false);
    ChunkedScanner scanner = new ChunkedScanner(Long.MAX_VALUE);
    assertEquals(buf.capacity(), scanner.scan(buf, AT, buf.capacity()));
    assertEquals(5, scanner.dataSize());
    assertFalse(scanner.done());
  }

  private static void assertFails(int status, String body) {
    for (boolean direct : new boolean[] {false, true}) {
      ByteBuffer buf = buffer(body, direct);
      ChunkedScanner whole = new ChunkedScanner(Long.MAX_VALUE);
      assertEquals(-1, whole.scan(buf, AT, buf.capacity()));
      assertEquals(status == 413 ? WireError.Kind.BODY_TOO_LARGE : WireError.Kind.MALFORMED, whole.error().kind());
      ChunkedScanner bytes = new ChunkedScanner(Long.MAX_VALUE);
      for (int i = AT; i < buf.capacity() && !bytes.done() && !bytes.failed(); i++) bytes.scan(buf, i, i + 1);
      assertEquals(whole.error(), bytes.error(), "byte by byte");
      for (int split = AT + 1; split < buf.capacity(); split = nextSplit(split, AT, buf.capacity())) {
        ChunkedScanner two = new ChunkedScanner(Long.MAX_VALUE);
        int at = two.scan(buf, AT, split);
        if (at >= 0) two.scan(buf, at, buf.capacity());
        assertEquals(whole.error(), two.error(), "split at " + split);
      }
    }
  }

  /** Every position near either end of a message, every 97th in the middle of a long one (the caps tests' 64 KiB). */
  private static int nextSplit(int split, int from, int end) {
    return split - from < 512 || end - split <= 512 ? split + 1 : Math.min(split + 97, end - 512);
  }

  private static ByteBuffer buffer(String text, boolean direct) {
    byte[] bytes = text.getBytes(ISO_8859_1);
    ByteBuffer buf = direct ? ByteBuffer.allocateDirect(AT + bytes.length) : ByteBuffer.allocate(AT + bytes.length);
    byte[] junk = new byte[AT];
    Arrays.fill(junk, (byte) '0');
    return buf.put(junk).put(bytes);
  }
}
