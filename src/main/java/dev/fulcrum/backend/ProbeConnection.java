package dev.fulcrum.backend;

import dev.fulcrum.Failures;
import dev.fulcrum.backend.HealthProbes.Failed;
import dev.fulcrum.backend.HealthProbes.Outcome;
import dev.fulcrum.backend.HealthProbes.TimedOut;
import dev.fulcrum.config.HealthCheckSettings;
import dev.fulcrum.http.wire.BodyFraming;
import dev.fulcrum.http.wire.ChunkedScanner;
import dev.fulcrum.http.wire.HttpHeads;
import dev.fulcrum.http.wire.ParsedResponse;
import dev.fulcrum.http.wire.ResponseHead;
import dev.fulcrum.http.wire.WireError;
import dev.fulcrum.nio.Connector;
import dev.fulcrum.nio.EventLoop;
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
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * One check's connection at a time, confined to its loop: a backend's schedule keeps one and uses it for each of its
 * checks in turn, so a check allocates no object of ours beyond what the JDK needs for a socket (and, for a refused
 * port, the {@code ConnectException} that {@code finishConnect} builds in native code: the JDK has no other way to
 * tell). Its timeout is its owner's business (the owner's grid calls {@link #timedOut}) unless it is {@code own}, a
 * one-off check, which arms loop timers of its own.
 */
final class ProbeConnection implements Connector.Callback, EventLoop.Handler {
  private final EventLoop loop;
  private final AtomicInteger openConnections;
  private final Consumer<Outcome> done;
  private final boolean ownTimeout;

  private InetSocketAddress address;
  private String host;
  private int port;
  private HealthCheckSettings settings;
  private ByteBuffer request;
  /** Null for a plain check. */
  private BackendTls tls;
  private TimedOut timedOutOutcome;
  /** The last failure, handed out again while a backend fails the same way (a refused port, check after check). */
  private Failed lastFailed;

  private boolean finished = true;
  private Transport transport;
  private boolean handshaking;
  private Connector connector;
  private EventLoop.Timer timer;
  private SocketChannel channel;
  private SelectionKey key;
  private ByteBuffer buffer;
  /** Where to look for the end of the head (or of the chunked body) when more bytes arrive. */
  private int scanFrom;
  private ResponseHead head;
  private BodyFraming framing;
  private int bodyStart;
  private ChunkedScanner chunks;
  private long deadline;
  /** A gRPC check's call, once its connection is ready. */
  private GrpcProbe grpc;

  ProbeConnection(EventLoop loop, AtomicInteger openConnections, Consumer<Outcome> done, boolean ownTimeout) {
    this.loop = loop;
    this.openConnections = openConnections;
    this.done = done;
    this.ownTimeout = ownTimeout;
  }

  /** What the next checks are; between checks only. */
  void configure(InetSocketAddress address, String host, int port, HealthCheckSettings settings, byte[] request,
      BackendTls tls) {
    this.address = address;
    this.host = host;
    this.port = port;
    this.settings = settings;
    this.request = request == null ? null : ByteBuffer.wrap(request);
    this.tls = tls;
    this.timedOutOutcome = new TimedOut(
        settings.kind().name().toLowerCase(Locale.ROOT) + " check timed out after " + settings.timeout().toMillis() + " ms");
  }

  /** The next checks speak {@code tls} (null: plain), as the pool's connections to the backend now do. */
  void useTls(BackendTls tls) {
    this.tls = tls;
  }

  boolean running() {
    return !finished;
  }

  /** Starts a check; its outcome goes to {@code done} (possibly before this returns). */
  void start() {
    finished = false;
    transport = null;
    handshaking = false;
    connector = null;
    timer = null;
    channel = null;
    key = null;
    scanFrom = 0;
    head = null;
    framing = null;
    bodyStart = 0;
    chunks = null;
    grpc = null;
    if (request != null) request.rewind();
    long timeout = settings.timeout().toNanos();
    deadline = loop.now() + timeout;
    // A backend given by name is looked up for each check (its records may change); an address is reused as it is.
    InetSocketAddress target = address != null ? address : InetSocketAddress.createUnresolved(host, port);
    // a TCP check writes nothing: no TCP_NODELAY, one system call fewer per check; a local backend's check may be over
    // within this call
    Connector started = Connector.check(loop, target, ownTimeout ? timeout : 0, this,
        settings.kind() != HealthCheckSettings.Kind.TCP);
    if (!finished) connector = started;
    releaseIfFinished();
  }

  /** Ends the check without an outcome; loop thread only. */
  void cancel() {
    finish(null);
    releaseIfFinished();
  }

  /** The owner's grid says the check's time is up. */
  void timedOut() {
    timer = null;
    finish(timedOutOutcome);
    releaseIfFinished();
  }

  @Override
  public void connected(SocketChannel channel, SelectionKey key) {
    try {
      onConnected(channel, key);
    } finally {
      releaseIfFinished();
    }
  }

  private void onConnected(SocketChannel channel, SelectionKey key) {
    this.channel = channel;
    this.key = key;
    openConnections.incrementAndGet();
    if (settings.kind() == HealthCheckSettings.Kind.TCP && tls == null) {
      finish(HealthProbes.PASSED);
      return;
    }
    // most checks of a pool of dead backends end at the connect: a one-off check's timer is the connector's until here
    if (ownTimeout) timer = loop.schedule(Math.max(0, deadline - loop.now()), this::timedOut);
    key.attach(this);
    transport = tls == null ? Transport.plain(channel) : tlsTransport();
    handshaking = tls != null;
    try {
      if (handshaking) handshake();
      else afterHandshake();
    } catch (IOException e) {
      finish(failed(Failures.describe(e)));
    }
  }

  /** TLS first: a TCP check passes with the handshake (the backend's certificate verified), an HTTP check goes on. */
  private void handshake() throws IOException {
    boolean complete;
    try {
      complete = transport.handshake();
    } catch (IOException e) {
      finish(failed("TLS handshake failed: " + Failures.describe(e)));
      return;
    }
    if (!complete) {
      key.interestOps(transport.wantsWrite() ? SelectionKey.OP_WRITE : SelectionKey.OP_READ);
      return;
    }
    handshaking = false;
    afterHandshake();
  }

  private void afterHandshake() throws IOException {
    switch (settings.kind()) {
      case TCP -> finish(HealthProbes.PASSED);
      case HTTP -> write();
      case GRPC -> startGrpc();
    }
  }

  /** A gRPC check offers only h2 by ALPN: gRPC servers refuse a TLS connection that did not choose it. */
  private Transport tlsTransport() {
    if (settings.kind() != HealthCheckSettings.Kind.GRPC) return tls.clientTransport(channel, host, port);
    return tls.clientTransport(channel, host, port, "h2");
  }

  private void startGrpc() throws IOException {
    String chosen = transport.applicationProtocol();
    if (tls != null && chosen != null && !chosen.equals("h2")) {
      finish(failed("gRPC health check: the backend chose " + chosen + " by ALPN, not h2"));
      return;
    }
    String authority = host.contains(":") ? "[" + host + "]:" + port : host + ":" + port;
    grpc = new GrpcProbe(settings, tls == null ? "http" : "https", authority, request.array(),
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
      if (finished) return;
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
    finish(timedOut ? timedOutOutcome : failed(reason));
    releaseIfFinished();
  }

  @Override
  public void ready(SelectionKey key) throws IOException {
    try {
      if (handshaking) handshake();
      else if (grpc != null) grpcIo();
      else if (request.hasRemaining()) write();
      else read();
    } finally {
      releaseIfFinished();
    }
  }

  @Override
  public void abort(Throwable cause) {
    finish(failed(Failures.describe(cause)));
    releaseIfFinished();
  }

  private Failed failed(String reason) {
    Failed last = lastFailed;
    if (last != null && last.reason().equals(reason)) return last;
    lastFailed = new Failed(reason);
    return lastFailed;
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
      finish(failed(what() + " answered more than " + buffer.capacity() / 1024 + " KiB of head and body"));
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
        finish(failed(what() + " answered a malformed response: " + error.problem()));
        return;
      }
      head = (ResponseHead) parsed;
      if (head.status() != settings.expectStatus()) {
        finish(failed(what() + " answered " + head.status() + ", expected " + settings.expectStatus()));
        return;
      }
      if (settings.expectBody().isEmpty()) {
        // the body cannot change the verdict: not read at all
        finish(HealthProbes.PASSED);
        return;
      }
      framing = BodyFraming.of(head, settings.method());
      bodyStart = end;
      scanFrom = end;
      if (framing == BodyFraming.LENGTH && head.contentLength() > buffer.capacity() - end) {
        finish(failed(what() + " answered a body of " + head.contentLength() + " bytes, more than a check reads"));
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
        if (chunks.failed()) finish(failed(what() + " answered a malformed chunked body: " + chunks.error().problem()));
        else if (chunks.done()) judge(dechunked());
      }
      case UNTIL_CLOSE -> {
        // the backend's close ends the body
      }
    }
  }

  private void closedByBackend() {
    if (head == null) {
      finish(failed(what() + ": the backend closed the connection before a complete response head"));
    } else if (framing == BodyFraming.UNTIL_CLOSE) {
      judge(text(bodyStart, buffer.position()));
    } else {
      finish(failed(what() + ": the backend closed the connection before the end of the body"));
    }
  }

  private void judge(String body) {
    String trimmed = body.trim();
    String expected = settings.expectBody().orElseThrow();
    finish(trimmed.equals(expected)
        ? HealthProbes.PASSED
        : failed(what() + " body was '" + abbreviate(trimmed) + "', expected '" + expected + "'"));
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

  /**
   * Closes everything the check holds and hands on {@code result}, unless that is null (cancelled). The read buffer
   * stays: a verdict can be reached in the middle of reading it (a gRPC frame decoder reads on after its callback), so
   * it goes back to the loop's pool only as the entry point that finished the check returns ({@link #releaseIfFinished}).
   */
  private void finish(Outcome result) {
    if (finished) return;
    finished = true;
    if (timer != null) timer.cancel();
    timer = null;
    if (connector != null) connector.cancel();
    connector = null;
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
      channel = null;
      key = null;
    }
    transport = null;
    if (result != null) done.accept(result);
  }

  /**
   * The end of every way in (the loop's event handler, the connector's callbacks, the owner's timer and cancel): a
   * finished check hands its read buffer back to the loop here, once nothing of this call reads it any more.
   */
  private void releaseIfFinished() {
    if (!finished || buffer == null) return;
    loop.release(buffer);
    buffer = null;
  }

  private static String abbreviate(String body) {
    return body.length() <= 40 ? body : body.substring(0, 40) + "...";
  }
}
