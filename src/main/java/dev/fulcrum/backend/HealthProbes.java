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
import dev.fulcrum.nio.Transport;
import dev.fulcrum.tls.BackendTls;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * Active health checks on the node's event loops, through the data plane's non-blocking {@link Connector}: a check
 * is a connect, or a minimal HTTP/1.1 exchange parsed by {@code http.wire}, on a fresh connection each time (as HAProxy
 * does) so that it sees what a new client connection would see. A check costs no thread, stream or actor of its own,
 * which is what lets a node check a thousand backends every two seconds for a few percent of a core. A backend's
 * checks are timed on its loop too ({@link #schedule}), one after the other, so that a check costs no cross-thread
 * hand-off to start; each outcome is handed to a listener (the {@link BackendActor}, which owns what it means).
 */
public final class HealthProbes {
  /** The first check runs within this of a backend's appearance, or within its interval if that is shorter. */
  static final Duration FIRST_CHECK_SPREAD = Duration.ofSeconds(1);
  /** Each next check runs up to this fraction of the interval later than the interval, as Envoy's interval jitter. */
  static final double INTERVAL_JITTER = 0.1;
  private static final long CHECK_TICK_NANOS = Duration.ofMillis(50).toNanos();

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

    /**
     * Ends the check and closes its connection, from any thread. Its outcome then never completes: the actor that
     * cancels is stopping, and would only get a dead letter.
     */
    void cancel();
  }

  /** A backend's checks, one after the other: the next starts an interval after the last ended. */
  public interface Schedule {
    /** The next checks use these settings (and {@link #request}'s request for them); from any thread. */
    void update(HealthCheckSettings check, byte[] request);

    /** The next checks speak this TLS (null: plain), as the pool's connections to its backends now do; any thread. */
    default void updateTls(BackendTls tls) {}

    /** No more checks; the one in flight, if any, is ended, its connection closed and its outcome dropped. */
    void cancel();

    /**
     * The backend's health as its owner sees it now (told after each transition, from any thread): outcomes that could
     * not change what the owner knows are then not handed on (see {@link #redundant}).
     */
    void healthIs(Health health);
  }

  /**
   * Whether an outcome would tell a {@link BackendActor} nothing: a pass after a pass while it holds the backend up,
   * or a failure after a failure while it holds it down. Its counters then stay as they are (a pass after a pass finds
   * no failure to forget and counts passes that only matter while down; a failure after a failure while down finds no
   * pass to forget), so dropping it is exact, and a steady pool, all up or all down, costs its actors no message at
   * all. A view that lags a transition only ever delays the next transition by a check, never causes a wrong one.
   */
  static boolean redundant(Boolean previousPassed, boolean passed, Health health) {
    if (previousPassed == null || previousPassed != passed) return false;
    return passed ? health == Health.UP : health == Health.DOWN;
  }

  /** When the first check runs, for a uniform {@code random} in [0, 1). */
  static Duration firstCheckDelay(Duration interval, double random) {
    Duration spread = interval.compareTo(FIRST_CHECK_SPREAD) < 0 ? interval : FIRST_CHECK_SPREAD;
    return Duration.ofNanos((long) (spread.toNanos() * random));
  }

  /** How long after a check ended the next one runs, for a uniform {@code random} in [0, 1). */
  static Duration nextCheckDelay(Duration interval, double random) {
    return interval.plusNanos((long) (interval.toNanos() * INTERVAL_JITTER * random));
  }

  /**
   * Checks {@code backend} from now on until cancelled: the first check at a random moment within
   * {@link #firstCheckDelay}, so that backends and nodes do not check in lockstep, each next one
   * {@link #nextCheckDelay} after the previous ended. {@code listener} hears every outcome, on an event loop: it must
   * not block (telling an actor is what it is for).
   */
  public Schedule schedule(HostPort backend, HealthCheckSettings check, byte[] request, Consumer<Outcome> listener) {
    return schedule(backend, check, request, null, listener, outcome -> {});
  }

  /**
   * As above, over TLS when {@code tls} is not null (a TCP check is a handshake, an HTTP check an HTTPS request);
   * {@code counted} hears every outcome, also those not handed to {@code listener} (for the metrics; on the event loop,
   * so it must only count).
   */
  public Schedule schedule(HostPort backend, HealthCheckSettings check, byte[] request, BackendTls tls,
      Consumer<Outcome> listener, Consumer<Outcome> counted) {
    EventLoop loop = nextLoop();
    if (loop == null) return new Schedule() {
      @Override
      public void update(HealthCheckSettings check, byte[] request) {}

      @Override
      public void cancel() {}

      @Override
      public void healthIs(Health health) {}
    };
    Checks checks = new Checks(loop, backend, check, request, tls, listener, counted);
    loop.execute(checks::first);
    return checks;
  }

  /** Probe connections open on this node right now. */
  public int openConnections() {
    return openConnections.get();
  }

  /**
   * What a check sends, built once per check settings rather than per check: an HTTP check's request, a gRPC check's
   * HealthCheckRequest message, nothing for TCP.
   */
  public static byte[] requestFor(HostPort backend, HealthCheckSettings check) {
    return switch (check.kind()) {
      case HTTP -> request(backend, check);
      case GRPC -> GrpcHealthMessages.request(check.service());
      case TCP -> null;
    };
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
    EventLoop loop = nextLoop();
    if (loop == null) return new Finished(new Failed("fulcrum is stopping"));
    CompletableFuture<Outcome> outcome = new CompletableFuture<>();
    Check c = new Check(loop, backend, check, request, null, outcome::complete);
    loop.execute(c::start);
    return new Probe() {
      @Override
      public CompletionStage<Outcome> outcome() {
        return outcome;
      }

      @Override
      public void cancel() {
        loop.execute(c::cancel);
      }
    };
  }

  /** The loop for the next backend or check, or null once the loops have stopped. */
  private EventLoop nextLoop() {
    EventLoop[] all = started;
    if (all == null) {
      try {
        all = loops.all();
      } catch (IllegalStateException stopped) {
        return null;
      }
      started = all;
    }
    return all[Math.floorMod(nextLoop.getAndIncrement(), all.length)];
  }

  /** One backend's {@link Schedule}, confined to its loop but for the calls that hand work to it. */
  private final class Checks implements Schedule {
    private final EventLoop loop;
    private final HostPort backend;
    private final Consumer<Outcome> listener;
    private final Consumer<Outcome> counted;
    private BackendTls tls;
    private HealthCheckSettings check;
    private byte[] request;
    private EventLoop.Timer timer;
    private Check running;
    private boolean cancelled;
    /** Whether the last check passed; null before the first. */
    private Boolean lastPassed;
    private volatile Health health = Health.UNKNOWN;

    Checks(EventLoop loop, HostPort backend, HealthCheckSettings check, byte[] request, BackendTls tls,
        Consumer<Outcome> listener, Consumer<Outcome> counted) {
      this.counted = counted;
      this.loop = loop;
      this.tls = tls;
      this.backend = backend;
      this.check = check;
      this.request = request;
      this.listener = listener;
    }

    void first() {
      if (cancelled) return;
      arm(firstCheckDelay(check.interval(), ThreadLocalRandom.current().nextDouble()));
    }

    /**
     * Checks start on a grid of 50 ms (a tenth of the interval if that is shorter): what wakes a loop then is a handful
     * of checks at once rather than one (and their connects end together too), which is most of what a check costs a
     * loop; 10 ms cost a third more on a quiet machine (load-tests/README.md).
     */
    private void arm(Duration delay) {
      long tick = Math.max(1, Math.min(CHECK_TICK_NANOS, check.interval().toNanos() / 10));
      long now = loop.now();
      long due = now + delay.toNanos();
      timer = loop.schedule(Math.floorDiv(due + tick - 1, tick) * tick - now, this::run);
    }

    private void run() {
      timer = null;
      running = new Check(loop, backend, check, request, tls, this::ended);
      running.start();
    }

    private void ended(Outcome outcome) {
      running = null;
      if (cancelled) return;
      arm(nextCheckDelay(check.interval(), ThreadLocalRandom.current().nextDouble()));
      counted.accept(outcome);
      boolean passed = outcome instanceof Passed;
      boolean quiet = redundant(lastPassed, passed, health);
      lastPassed = passed;
      if (!quiet) listener.accept(outcome);
    }

    @Override
    public void healthIs(Health health) {
      this.health = health;
    }

    @Override
    public void update(HealthCheckSettings next, byte[] nextRequest) {
      loop.execute(() -> {
        check = next;
        request = nextRequest;
        // a check in flight arms the next one when it ends, with the new interval
        if (running == null && timer != null && !cancelled) {
          timer.cancel();
          first();
        }
      });
    }

    @Override
    public void updateTls(BackendTls next) {
      loop.execute(() -> tls = next);
    }

    @Override
    public void cancel() {
      loop.execute(() -> {
        cancelled = true;
        if (timer != null) timer.cancel();
        timer = null;
        if (running != null) running.cancel();
      });
    }
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
  private final class Check implements Connector.Callback, EventLoop.Handler {
    private final EventLoop loop;
    private final HostPort backend;
    private final HealthCheckSettings settings;
    private final ByteBuffer request;
    private final Consumer<Outcome> done;
    /** Null for a plain check. */
    private final BackendTls tls;
    private Transport transport;
    private boolean handshaking;
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
    private long deadline;
    /** A gRPC check's call, once its connection is ready. */
    private GrpcProbe grpc;

    Check(EventLoop loop, HostPort backend, HealthCheckSettings settings, byte[] request, BackendTls tls,
        Consumer<Outcome> done) {
      this.loop = loop;
      this.tls = tls;
      this.done = done;
      this.backend = backend;
      this.settings = settings;
      this.request = request == null ? null : ByteBuffer.wrap(request);
    }

    /** Loop thread only. */
    void cancel() {
      finish(null);
    }

    void start() {
      if (finished) return;
      long timeout = settings.timeout().toNanos();
      InetSocketAddress address = backend.toSocketAddress();
      // The connector's own timeout is the check's: a connect that hangs is a check that timed out.
      deadline = loop.now() + timeout;
      // a TCP check writes nothing: no TCP_NODELAY, one system call fewer per check
      connector = Connector.connect(loop, address, timeout, this, settings.kind() != HealthCheckSettings.Kind.TCP);
    }

    @Override
    public void connected(SocketChannel channel, SelectionKey key) {
      this.channel = channel;
      this.key = key;
      openConnections.incrementAndGet();
      if (settings.kind() == HealthCheckSettings.Kind.TCP && tls == null) {
        finish(new Passed());
        return;
      }
      // most checks of a pool of dead backends end at the connect: their timeout is the connector's alone
      timer = loop.schedule(Math.max(0, deadline - loop.now()), this::timedOut);
      key.attach(this);
      transport = tls == null ? Transport.plain(channel) : tlsTransport();
      handshaking = tls != null;
      try {
        if (handshaking) handshake();
        else afterHandshake();
      } catch (IOException e) {
        finish(new Failed(Failures.describe(e)));
      }
    }

    /** TLS first: a TCP check passes with the handshake (the backend's certificate verified), an HTTP check goes on. */
    private void handshake() throws IOException {
      boolean done;
      try {
        done = transport.handshake();
      } catch (IOException e) {
        finish(new Failed("TLS handshake failed: " + Failures.describe(e)));
        return;
      }
      if (!done) {
        key.interestOps(transport.wantsWrite() ? SelectionKey.OP_WRITE : SelectionKey.OP_READ);
        return;
      }
      handshaking = false;
      afterHandshake();
    }

    private void afterHandshake() throws IOException {
      switch (settings.kind()) {
        case TCP -> finish(new Passed());
        case HTTP -> write();
        case GRPC -> startGrpc();
      }
    }

    /** A gRPC check offers only h2 by ALPN: gRPC servers refuse a TLS connection that did not choose it. */
    private Transport tlsTransport() {
      if (settings.kind() != HealthCheckSettings.Kind.GRPC) return tls.clientTransport(channel, backend.host(), backend.port());
      javax.net.ssl.SSLEngine engine = tls.newEngine(backend.host(), backend.port());
      javax.net.ssl.SSLParameters parameters = engine.getSSLParameters();
      parameters.setApplicationProtocols(new String[] {"h2"});
      engine.setSSLParameters(parameters);
      return Transport.tls(tlschannel.ClientTlsChannel.newBuilder(channel, engine).build(), channel);
    }

    private void startGrpc() throws IOException {
      String chosen = transport.applicationProtocol();
      if (tls != null && chosen != null && !chosen.equals("h2")) {
        finish(new Failed("gRPC health check: the backend chose " + chosen + " by ALPN, not h2"));
        return;
      }
      grpc = new GrpcProbe(settings, tls == null ? "http" : "https", backend.toString(), request.array(),
          settings.timeout().toNanos(), loop::now, this::finish);
      grpcIo();
    }

    /** Writes what the call has to send, reads what arrived: both ways at once, as HTTP/2 may need. */
    private void grpcIo() throws IOException {
      ByteBuffer out = grpc.output();
      while (out.hasRemaining() || transport.writePending()) {
        int before = out.remaining();
        transport.write(out);
        if (transport.writePending() || out.remaining() == before) break;
      }
      if (finished) return;
      if (buffer == null) buffer = loop.acquire();
      while (!finished) {
        buffer.clear();
        int read = transport.read(buffer);
        if (read < 0) {
          grpc.closed();
          return;
        }
        if (read == 0) break;
        buffer.flip();
        grpc.feed(buffer);
        // the frames may answer (SETTINGS ACK, WINDOW_UPDATE): written before waiting again
        while (!finished && (out = grpc.output()).hasRemaining()) {
          int before = out.remaining();
          transport.write(out);
          if (transport.writePending() || out.remaining() == before) break;
        }
      }
      if (finished || !key.isValid()) return;
      boolean write = grpc.output().hasRemaining() || transport.writePending() || transport.wantsWrite();
      key.interestOps(write ? SelectionKey.OP_READ | SelectionKey.OP_WRITE : SelectionKey.OP_READ);
    }

    @Override
    public void failed(String reason, boolean timedOut) {
      finish(timedOut ? timedOutOutcome() : new Failed(reason));
    }

    @Override
    public void ready(SelectionKey key) throws IOException {
      if (handshaking) handshake();
      else if (grpc != null) grpcIo();
      else if (request.hasRemaining()) write();
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
      transport.write(request);
      key.interestOps(request.hasRemaining() ? SelectionKey.OP_WRITE : SelectionKey.OP_READ);
    }

    private void read() throws IOException {
      if (buffer == null) buffer = loop.acquire();
      int read = transport.read(buffer);
      // TLS hands out one record per read: the rest of what arrived may wait inside, announced by no event
      while (read > 0 && buffer.hasRemaining() && transport.mayHoldInput()) {
        int more = transport.read(buffer);
        if (more <= 0) break;
        read += more;
      }
      if (transport.wantsWrite()) key.interestOps(SelectionKey.OP_WRITE);
      else if (key.isValid()) key.interestOps(SelectionKey.OP_READ);
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
      if (settings.kind() == HealthCheckSettings.Kind.GRPC) return "gRPC health check";
      return "HTTP " + settings.method() + " " + settings.path();
    }

    /** Closes everything the check holds and hands on {@code result}, unless that is null (cancelled). */
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
      if (result != null) done.accept(result);
    }
  }

  private static String abbreviate(String body) {
    return body.length() <= 40 ? body : body.substring(0, 40) + "...";
  }
}
