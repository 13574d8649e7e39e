package dev.fulcrum.http.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The trailer section of a chunked body, taken from the framing bytes a ChunkedScanner accepts, in any split. */
class ChunkedTrailersTest {
  /** Scans {@code body} handed over in pieces of {@code step} bytes, as a proxy taking data out of the framing does. */
  private static HeaderFields trailersOf(String body, int step) {
    ByteBuffer all = ByteBuffer.wrap(body.getBytes(StandardCharsets.ISO_8859_1));
    ChunkedScanner scanner = new ChunkedScanner(Long.MAX_VALUE);
    ChunkedTrailers trailers = new ChunkedTrailers();
    int pos = 0;
    int limit = 0;
    StringBuilder data = new StringBuilder();
    while (!scanner.done()) {
      if (pos == limit) limit = Math.min(all.limit(), limit + step);
      if (scanner.inData()) {
        int n = (int) Math.min(limit - pos, scanner.chunkLeft());
        for (int i = 0; i < n; i++) data.append((char) all.get(pos + i));
        scanner.skipData(n);
        pos += n;
        continue;
      }
      int end = scanner.scanFraming(all, pos, limit);
      trailers.framing(all.duplicate().position(pos).limit(end), scanner.inData());
      pos = end;
    }
    assertEquals("hello world", data.toString());
    return trailers.trailers();
  }

  @Test
  void fieldsAfterTheLastChunkAreTheTrailersWhereverTheBytesSplit() {
    String body = "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\ngrpc-status: 0\r\nGrpc-Message:  fine \r\n\r\n";
    for (int step = 1; step <= body.length(); step++) {
      HeaderFields t = trailersOf(body, step);
      assertEquals(2, t.size(), "step " + step);
      assertEquals("0", t.get("grpc-status"));
      assertEquals("fine", t.get("grpc-message"));
      assertEquals("grpc-message", t.name(1), "names are lowercased for HTTP/2");
    }
  }

  @Test
  void noTrailerSectionGivesNone() {
    assertNull(trailersOf("b\r\nhello world\r\n0\r\n\r\n", 3));
  }

  @Test
  void fieldsThatMayNotBeTrailersAreLeftOut() {
    HeaderFields t = trailersOf("b\r\nhello world\r\n0\r\ncontent-length: 5\r\nhost: x\r\nx-sum: 42\r\n\r\n", 7);
    assertEquals(1, t.size());
    assertEquals("42", t.get("x-sum"));
    assertTrue(t.get("content-length") == null && t.get("host") == null);
  }
}
