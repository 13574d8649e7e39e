package dev.fulcrum.backend;

import dev.fulcrum.Failures;
import dev.fulcrum.config.HealthCheckSettings;
import dev.fulcrum.config.HostPort;
import dev.fulcrum.http.wire.BodyFraming;
import dev.fulcrum.http.wire.ChunkedScanner;
import dev.fulcrum.http.wire.HttpHeads;
import dev.fulcrum.http.wire.ParsedResponse;
import dev.fulcrum.http.wire.ResponseHead;
import dev.fulcrum.http.wire.WireError;
import dev.fulcrum.nio.Connector;
import dev.fulcrum.nio.EventLoop;
import dev.fulcrum.nio.EventLoops;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Active health checks on the node's event loops, through the data plane's non-blocking {@link Connector}: a check
 * is a connect, or a minimal HTTP/1.1 exchange parsed by {@code http.wire}, on a fresh connection each time (as HAProxy
 * does) so that it sees what a new client connection would see. A check costs no thread, stream or actor of its own,
 * which is what lets a node check a thousand backends every two seconds for a few percent of a core. The check's
 * outcome completes a future; the {@link BackendActor} that started it owns what the outcome means.
 */
public final class HealthProbes {
  private final EventLoops loops;
  private final AtomicInteger nextLoop = new AtomicInteger();
  private final AtomicInteger openConnections = new AtomicInteger();
  /** The loops, once started: {@link EventLoops#all()} copies its array under a lock on every call. */
  private volatile EventLoop[] started;

  /** Checks on {@code loops}, which start with the first check if no listener has started them yet. */
  public HealthProbes(EventLoops loops) {
    this.loops = loops;
  }

  /** What a check found. */
  public sealed interface Outcome {}

  /** The backend answered as expected. */
  public record Passed() implements Outcome {}

  /** A definite answer that is not the expected one: refused, reset, wrong status or body, malformed response. */
  public record Failed(String reason) implements Outcome {}

  /** No answer within the check's timeout; its connection is closed by then. */
  public record TimedOut(String reason) implements Outcome {}

  /** A check in flight. */
  public interface Probe {
    /** Completes on an event loop, never exceptionally, once the check's connection is closed. */
    CompletionStage<Outcome> outcome();

    /** Ends the check and closes its connection, from any thread; its outcome is then of no interest. */
    void cancel();
  }

  /** Probe connections open on this node right now. */
  public int openConnections() {
    return openConnections.get();
  }

  /** The request an HTTP check sends to {@code backend}, built once per check settings rather than per check. */
  public static byte[] request(HostPort backend, HealthCheckSettings check) {
    StringBuilder head = new StringBuilder(128)
        .append(check.method()).append(' ').append(check.path()).append(" HTTP/1.1\r\n")
        .append("Host: ").append(check.host().orElse(backend.toString())).append("\r\n");
    boolean userAgent = false;
    for (Map.Entry<String, String> field : check.headers().entrySet()) {
      head.append(field.getKey()).append(": ").append(field.getValue()).append("\r\n");
      userAgent |= field.getKey().equalsIgnoreCase("user-agent");
    }
    if (!userAgent) head.append("User-Agent: fulcrum-health-check\r\n");
    head.append("Connection: close\r\n\r\n");
    return head.toString().getBytes(StandardCharsets.ISO_8859_1);
  }

  /**
   * Starts one check of {@code backend}; {@code request} is {@link #request}'s for an HTTP check (ignored for TCP).
   * Never blocks: the check runs on an event loop.
   */
  public Probe start(HostPort backend, HealthCheckSettings check, byte[] request) {
    EventLoop[] all = started;
    if (all == null) {
      try {
        all = loops.all();
      } catch (IllegalStateException stopped) {
        return new Finished(new Failed("fulcrum is stopping"));
      }
      started = all;
    }
    EventLoop loop = all[Math.floorMod(nextLoop.getAndIncrement(), all.length)];
    Check c = new Check(loop, backend, check, request);
    loop.execute(c::start);
    return c;
  }

  private record Finished(Outcome result) implements Probe {
    @Override
    public CompletionStage<Outcome> outcome() {
      return CompletableFuture.completedFuture(result);
    }

    @Override
    public void cancel() {}
  }

  /** One check's connection, confined to its loop from {@link #start()} on. */
  private final class Check implements Probe, Connector.Callback, EventLoop.Handler {
    private final EventLoop loop;
    private final HostPort backend;
    private final HealthCheckSettings settings;
    private final ByteBuffer request;
    private final CompletableFuture<Outcome> outcome = new CompletableFuture<>();
    private Connector connector;
    private EventLoop.Timer timer;
    private SocketChannel channel;
    private SelectionKey key;
    private ByteBuffer buffer;
    private boolean finished;
    /** Where to look for the end of the head (or of the chunked body) when more bytes arrive. */
    private int scanFrom;
    private ResponseHead head;
    private BodyFraming framing;
    private int bodyStart;
    private ChunkedScanner chunks;

    Check(EventLoop loop, HostPort backend, HealthCheckSettings settings, byte[] request) {
      this.loop = loop;
      this.backend = backend;
      this.settings = settings;
      this.request = request == null ? null : ByteBuffer.wrap(request);
    }

    @Override
    public CompletionStage<Outcome> outcome() {
      return outcome;
    }

    @Override
    public void cancel() {
      loop.execute(() -> finish(new Failed("cancelled")));
    }

    void start() {
      if (finished) return;
      long timeout = settings.timeout().toNanos();
      InetSocketAddress address = backend.toSocketAddress();
      // The connector's own timeout is the check's: a connect that hangs is a check that timed out.
      connector = Connector.connect(loop, address, timeout, this);
      if (!finished && settings.kind() == HealthCheckSettings.Kind.HTTP && timer == null) {
        timer = loop.schedule(timeout, this::timedOut);
      }
    }

    @Override
    public void connected(SocketChannel channel, SelectionKey key) {
      this.channel = channel;
      this.key = key;
      openConnections.incrementAndGet();
      if (settings.kind() == HealthCheckSettings.Kind.TCP) {
        finish(new Passed());
        return;
      }
      key.attach(this);
      try {
        write();
      } catch (IOException e) {
        finish(new Failed(Failures.describe(e)));
      }
    }

    @Override
    public void failed(String reason, boolean timedOut) {
      finish(timedOut ? timedOutOutcome() : new Failed(reason));
    }

    @Override
    public void ready(SelectionKey key) throws IOException {
      if ((key.readyOps() & SelectionKey.OP_WRITE) != 0) write();
      else read();
    }

    @Override
    public void abort(Throwable cause) {
      finish(new Failed(Failures.describe(cause)));
    }

    private void timedOut() {
      timer = null;
      finish(timedOutOutcome());
    }

    private TimedOut timedOutOutcome() {
      return new TimedOut(
          settings.kind().name().toLowerCase(Locale.ROOT) + " check timed out after " + settings.timeout().toMillis() + " ms");
    }

    private void write() throws IOException {
      channel.write(request);
      key.interestOps(request.hasRemaining() ? SelectionKey.OP_WRITE : SelectionKey.OP_READ);
    }

    private void read() throws IOException {
      if (buffer == null) buffer = loop.acquire();
      int read = channel.read(buffer);
      if (read < 0) {
        closedByBackend();
        return;
      }
      if (read > 0) progress();
      if (!finished && !buffer.hasRemaining()) {
        finish(new Failed(what() + " answered more than " + buffer.capacity() / 1024 + " KiB of head and body"));
      }
    }

    private void progress() {
      int limit = buffer.position();
      if (head == null) {
        int end = HttpHeads.headEnd(buffer, scanFrom, limit);
        if (end < 0) {
          scanFrom = Math.max(0, limit - 4);
          return;
        }
        ParsedResponse parsed = HttpHeads.parseResponse(buffer, 0, end);
        if (parsed instanceof WireError error) {
          finish(new Failed(what() + " answered a malformed response: " + error.problem()));
          return;
        }
        head = (ResponseHead) parsed;
        if (head.status() != settings.expectStatus()) {
          finish(new Failed(what() + " answered " + head.status() + ", expected " + settings.expectStatus()));
          return;
        }
        if (settings.expectBody().isEmpty()) {
          // the body cannot change the verdict: not read at all
          finish(new Passed());
          return;
        }
        framing = BodyFraming.of(head, settings.method());
        bodyStart = end;
        scanFrom = end;
        if (framing == BodyFraming.LENGTH && head.contentLength() > buffer.capacity() - end) {
          finish(new Failed(what() + " answered a body of " + head.contentLength() + " bytes, more than a check reads"));
          return;
        }
        if (framing == BodyFraming.CHUNKED) chunks = new ChunkedScanner(buffer.capacity());
      }
      switch (framing) {
        case NONE -> judge("");
        case LENGTH -> {
          if (limit - bodyStart >= head.contentLength()) judge(text(bodyStart, bodyStart + (int) head.contentLength()));
        }
        case CHUNKED -> {
          chunks.scan(buffer, scanFrom, limit);
          scanFrom = limit;
          if (chunks.failed()) finish(new Failed(what() + " answered a malformed chunked body: " + chunks.error().problem()));
          else if (chunks.done()) judge(dechunked());
        }
        case UNTIL_CLOSE -> {
          // the backend's close ends the body
        }
      }
    }

    private void closedByBackend() {
      if (head == null) {
        finish(new Failed(what() + ": the backend closed the connection before a complete response head"));
      } else if (framing == BodyFraming.UNTIL_CLOSE) {
        judge(text(bodyStart, buffer.position()));
      } else {
        finish(new Failed(what() + ": the backend closed the connection before the end of the body"));
      }
    }

    private void judge(String body) {
      String trimmed = body.trim();
      String expected = settings.expectBody().orElseThrow();
      finish(trimmed.equals(expected)
          ? new Passed()
          : new Failed(what() + " body was '" + abbreviate(trimmed) + "', expected '" + expected + "'"));
    }

    private String text(int from, int to) {
      byte[] bytes = new byte[to - from];
      buffer.get(from, bytes);
      return new String(bytes, StandardCharsets.UTF_8);
    }

    /** The data of the chunked body that {@link ChunkedScanner} accepted, so its lines need no more checking. */
    private String dechunked() {
      ByteArrayOutputStream data = new ByteArrayOutputStream();
      int i = bodyStart;
      while (true) {
        int size = 0;
        for (int d; (d = Character.digit(buffer.get(i), 16)) >= 0; i++) size = size * 16 + d;
        while (buffer.get(i) != '\n') i++;
        i++;
        if (size == 0) break;
        byte[] chunk = new byte[size];
        buffer.get(i, chunk);
        data.writeBytes(chunk);
        i += size + 2;
      }
      return data.toString(StandardCharsets.UTF_8);
    }

    private String what() {
      return "HTTP " + settings.method() + " " + settings.path();
    }

    private void finish(Outcome result) {
      if (finished) return;
      finished = true;
      if (timer != null) timer.cancel();
      if (connector != null) connector.cancel();
      if (channel != null) {
        openConnections.decrementAndGet();
        try {
          // Closed with a reset, as HAProxy closes its checks: a node checking a thousand backends would otherwise
          // leave thousands of sockets in TIME_WAIT.
          channel.setOption(StandardSocketOptions.SO_LINGER, 0);
        } catch (IOException ignored) {
          // closed below all the same
        }
        try {
          channel.close();
        } catch (IOException ignored) {
          // nothing left to release
        }
      }
      if (buffer != null) {
        loop.release(buffer);
        buffer = null;
      }
      outcome.complete(result);
    }
  }

  private static String abbreviate(String body) {
    return body.length() <= 40 ? body : body.substring(0, 40) + "...";
  }
}
