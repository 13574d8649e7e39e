package dev.fulcrum.observe;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggingEvent;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.Map;
import net.logstash.logback.encoder.LogstashEncoder;
import net.logstash.logback.marker.Markers;

/**
 * Turns access records into lines, on the thread that served the request: each such thread has a format of its own
 * (in its {@link LineRing}), which may keep what it reuses from line to line.
 */
abstract class LineFormat {
  final int maxUri;

  LineFormat(int maxUri) {
    this.maxUri = maxUri;
  }

  /** Appends the record's line, with its newline, to {@code out}; {@code start} is when the request began, epoch millis. */
  abstract void format(AccessRecord record, long start, LineBuffer out);

  String target(AccessRecord r) {
    return r.target == null || r.target.length() <= maxUri ? r.target : r.target.substring(0, maxUri);
  }

  static long ms(long nanos) {
    return nanos < 0 ? -1 : nanos / 1_000_000;
  }

  /**
   * HAProxy-like text: {@code start client listener route pool backend "METHOD target PROTOCOL" status bytes-in bytes-out
   * Tq/Tw/Tc/Tr/Tt retries request-id termination}, "-" for what is missing; a TCP connection's line has the same
   * columns with {@code "TCP -"} for the request and "-" for the status.
   */
  static final class Text extends LineFormat {
    private long second = Long.MIN_VALUE;
    private final LineBuffer secondText = new LineBuffer(24);

    Text(int maxUri) {
      super(maxUri);
    }

    @Override
    void format(AccessRecord r, long start, LineBuffer l) {
      timestamp(start, l);
      l.ascii(' ').client(r.clientIp, r.clientPort);
      l.ascii(' ').text(r.listener).ascii(' ').field(r.route).ascii(' ').field(r.pool).ascii(' ').hostPort(r.backend);
      if (r.kind == AccessRecord.TCP) {
        l.ascii(' ').ascii('"').ascii('T').ascii('C').ascii('P').ascii(' ').ascii('-').ascii('"').ascii(' ').ascii('-');
      } else {
        l.ascii(' ').ascii('"').field(r.method).ascii(' ').quoted(r.target, maxUri);
        // as HAProxy's "GET /uri HTTP/1.1"; an engine that does not tell leaves it out
        if (r.protocol != null) l.ascii(' ').field(r.protocol);
        l.ascii('"')
            .ascii(' ').number(r.status);
      }
      l.ascii(' ').number(r.bytesIn).ascii(' ').number(r.bytesOut).ascii(' ');
      l.number(ms(r.headRead)).ascii('/').number(ms(r.queued)).ascii('/').number(ms(r.connect)).ascii('/')
          .number(ms(r.response)).ascii('/').number(ms(r.total)).ascii(' ');
      l.number(r.retries).ascii(' ').token(r.requestId).ascii(' ').text(r.termination).ascii('\n');
    }

    /** ISO-8601 in UTC with milliseconds; the date and time to the second are formatted once a second. */
    private void timestamp(long millis, LineBuffer l) {
      long s = Math.floorDiv(millis, 1000);
      if (s != second) {
        second = s;
        LocalDateTime t = LocalDateTime.ofEpochSecond(s, 0, ZoneOffset.UTC);
        secondText.length = 0;
        secondText.number(t.getYear()).ascii('-').digits(t.getMonthValue(), 2).ascii('-').digits(t.getDayOfMonth(), 2)
            .ascii('T').digits(t.getHour(), 2).ascii(':').digits(t.getMinute(), 2).ascii(':').digits(t.getSecond(), 2)
            .ascii('.');
      }
      l.bytes(secondText.bytes, secondText.length).digits((int) Math.floorMod(millis, 1000), 3).ascii('Z');
    }
  }

  /** One JSON object per line, written by logstash-logback-encoder from the record's fields. */
  static final class Json extends LineFormat {
    private final LogstashEncoder encoder = new LogstashEncoder();
    private final Logger logger;

    Json(LoggerContext context, Logger logger, int maxUri) {
      super(maxUri);
      this.logger = logger;
      encoder.setIncludeContext(false);
      encoder.setIncludeMdc(false);
      encoder.setContext(context);
      encoder.start();
    }

    @Override
    void format(AccessRecord r, long start, LineBuffer out) {
      boolean http = r.kind == AccessRecord.HTTP;
      Map<String, Object> f = new LinkedHashMap<>();
      f.put("type", http ? "http" : "tcp");
      f.put("start", java.time.Instant.ofEpochMilli(start).toString());
      f.put("client_ip", r.clientIp);
      f.put("client_port", r.clientPort);
      f.put("listener", r.listener);
      if (http) f.put("route", r.route);
      f.put("pool", r.pool);
      f.put("backend", r.backend == null ? null : r.backend.toString());
      if (http) {
        f.put("method", r.method);
        f.put("uri", target(r));
        f.put("protocol", r.protocol);
        f.put("status", r.status);
      }
      f.put("bytes_in", r.bytesIn);
      f.put("bytes_out", r.bytesOut);
      if (http) {
        f.put("tq_ms", ms(r.headRead));
        f.put("tw_ms", ms(r.queued));
      }
      f.put("tc_ms", ms(r.connect));
      if (http) f.put("tr_ms", ms(r.response));
      f.put("tt_ms", ms(r.total));
      f.put("retries", r.retries);
      if (http) f.put("request_id", r.requestId);
      f.put("termination", r.termination);
      LoggingEvent event = new LoggingEvent(Json.class.getName(), logger, Level.INFO, "access", null, null);
      event.addMarker(Markers.appendEntries(f));
      out.bytes(encoder.encode(event));
    }
  }
}
