package dev.fulcrum.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.fulcrum.config.HostPort;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The bytes of a line: UTF-8 as Java writes it, numbers, addresses, and client text that cannot break the line. */
class LineBufferTest {
  private static String text(LineBuffer b) {
    return new String(b.bytes, 0, b.length, StandardCharsets.UTF_8);
  }

  @Test
  void textIsUtf8AsTheJdkEncodesIt() {
    for (String s : new String[] {"", "plain", "café", "日本", "emoji 😀 here", "mixed é😀日x"}) {
      LineBuffer b = new LineBuffer(1);
      b.text(s);
      assertEquals(s, text(b));
      assertEquals(s.getBytes(StandardCharsets.UTF_8).length, b.length, s);
    }
  }

  @Test
  void aLoneSurrogateBecomesAQuestionMark() {
    LineBuffer b = new LineBuffer(4);
    b.text("a\ud800b");
    assertEquals("a?b", text(b));
  }

  @Test
  void numbers() {
    for (long n : new long[] {0, 7, 10, 99, 100, 123456789012L, -1, -42, Long.MAX_VALUE, Long.MIN_VALUE}) {
      LineBuffer b = new LineBuffer(2);
      b.number(n);
      assertEquals(Long.toString(n), text(b));
    }
    LineBuffer b = new LineBuffer(2);
    b.digits(7, 3).ascii(' ').digits(45, 2).ascii(' ').digits(2026, 4);
    assertEquals("007 45 2026", text(b));
  }

  @Test
  void addresses() {
    assertEquals("10.0.0.1:80", text(new LineBuffer(2).client("10.0.0.1", 80)));
    assertEquals("[::1]:443", text(new LineBuffer(2).client("::1", 443)));
    assertEquals("-", text(new LineBuffer(2).client(null, 0)));
    assertEquals("b.example:8080", text(new LineBuffer(2).hostPort(new HostPort("b.example", 8080))));
    assertEquals(new HostPort("::1", 9).toString(), text(new LineBuffer(2).hostPort(new HostPort("::1", 9))));
  }

  @Test
  void clientTextIsEscaped() {
    assertEquals("/a \\\"b\\\" \\\\ \\x0d\\x0a\\x7f é",
        text(new LineBuffer(2).quoted("/a \"b\" \\ \r\n\u007f é")));
    assertEquals("id\\x20with\\x20space", text(new LineBuffer(2).token("id with space")));
    // a path cut to max-uri-length; a surrogate pair the cut splits leaves "?", as the substring it replaces did
    assertEquals("/a\\\"b", text(new LineBuffer(2).quoted("/a\"bcdef", 4)));
    assertEquals("/a?", text(new LineBuffer(2).quoted("/a\uD83D\uDE00", 3)));
    assertEquals("/a\uD83D\uDE00", text(new LineBuffer(2).quoted("/a\uD83D\uDE00", 4)));
    assertEquals("-", text(new LineBuffer(2).token("")));
    assertEquals("-", text(new LineBuffer(2).token(null)));
    assertEquals("-", text(new LineBuffer(2).field(null)));
  }

  @Test
  void httpAndTcpTextLinesHaveTheirColumnsInOrder() {
    LineFormat.Text format = new LineFormat.Text(10);
    AccessRecord r = new AccessRecord(null);
    r.kind = AccessRecord.HTTP;
    r.clientIp = "192.0.2.1";
    r.clientPort = 4242;
    r.listener = "web";
    r.route = "*/api";
    r.pool = "api";
    r.backend = new HostPort("10.0.0.2", 8080);
    r.method = "GET";
    r.target = "/api/v1/items?page=2";
    r.status = 200;
    r.bytesIn = 231;
    r.bytesOut = 5120;
    r.headRead = 0;
    r.queued = 3_000_000;
    r.connect = 1_500_000;
    r.response = 12_000_000;
    r.total = 17_999_999;
    r.retries = 1;
    r.requestId = "abc";
    r.termination = "normal";
    LineBuffer b = new LineBuffer(8);
    long start = java.time.Instant.parse("2026-12-01T21:55:39.091Z").toEpochMilli();
    format.format(r, start, b);
    r.clear();
    r.kind = AccessRecord.TCP;
    r.clientIp = "192.0.2.1";
    r.listener = "web";
    r.pool = "api";
    r.backend = new HostPort("10.0.0.2", 8080);
    r.headRead = r.queued = r.response = -1;
    r.retries = 0;
    r.termination = "reset";
    format.format(r, start + 1000 - 91 + 5, b); // the next second: its date and time are formatted again
    assertEquals("2026-12-01T21:55:39.091Z 192.0.2.1:4242 web */api api 10.0.0.2:8080 \"GET /api/v1/it\" 200 231 5120 "
        + "0/3/1/12/17 1 abc normal\n"
        + "2026-12-01T21:55:40.005Z 192.0.2.1:4242 web - api 10.0.0.2:8080 \"TCP -\" - 231 5120 -1/-1/1/-1/17 0 - reset\n",
        text(b));
  }
}
