package dev.fulcrum.http.nio;

import dev.fulcrum.config.Http2Settings;
import dev.fulcrum.http.h2.H2Request;
import dev.fulcrum.http.h2.H2ServerConnection;
import dev.fulcrum.http.h2.H2Settings;
import dev.fulcrum.http.proxy.Admission;
import dev.fulcrum.http.proxy.ExchangeLog;
import dev.fulcrum.http.proxy.GrpcStatus;
import dev.fulcrum.http.proxy.HeaderRewriter;
import dev.fulcrum.http.proxy.ListenerPolicy;
import dev.fulcrum.http.proxy.ProxyError;
import dev.fulcrum.http.proxy.Route;
import dev.fulcrum.http.wire.HeaderFields;
import dev.fulcrum.http.wire.ParsedTarget;
import dev.fulcrum.http.wire.RequestTarget;
import dev.fulcrum.http.wire.WireError;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * An HTTP/2 client connection of the nio engine, once ALPN chose h2 or the h2c preface arrived: the frames are
 * {@link H2ServerConnection}'s, and each stream is an {@link H2Exchange} through the listener's policy (route,
 * firewall, limits, selection and retries) to a backend from the loop's {@link UpstreamPool}: an HTTP/1.1 one
 * ({@link H2Exchange}) or an HTTP/2 one ({@link H2ToH2Exchange}), as the route's pool says.
 */
final class H2ClientSession implements H2ServerConnection.Handler {
  private final ClientConnection client;
  private final ListenerPolicy policy;
  private final UpstreamPool pool;
  private final H2ServerConnection h2;
  private final Map<Integer, H2StreamUser> exchanges = new HashMap<>();
  /** Exchanges that stopped taking response bytes because the client's output was full. */
  private final List<H2StreamUser> paused = new ArrayList<>();
  /** A write is due at the end of the loop's turn ({@link #flushSoon}). */
  private boolean flushDue;
  private final Runnable flushAtTurnEnd = this::flushAtTurnEnd;

  H2ClientSession(ClientConnection client, ListenerPolicy policy, UpstreamPool pool, Http2Settings settings,
      H2ServerConnection.Observer observer) {
    this.client = client;
    this.policy = policy;
    this.pool = pool;
    this.h2 = new H2ServerConnection(limits(settings), this, observer, client.loop::now);
  }

  static H2Settings limits(Http2Settings s) {
    return new H2Settings(s.maxConcurrentStreams(), s.streamWindow(), s.connectionWindow(), 16_384,
        s.maxHeaderListSize(), s.maxControlFramesPerSecond(), s.maxResetsPerSecond(),
        Math.max(4 << 20, 2 * s.connectionWindow()));
  }

  H2ServerConnection frames() {
    return h2;
  }

  ClientConnection client() {
    return client;
  }

  /** Takes what the client sent: the connection's unconsumed input. */
  void readable() {
    int n = client.unconsumed();
    if (n > 0) {
      client.parseHead(n, (buf, from, to) -> {
        h2.feed(buf.duplicate().limit(to).position(from));
        return null;
      });
      if (client.isOpen()) client.consumeAll();
    }
    flushSoon();
  }

  /**
   * Writes what the frames produced at the end of the loop's turn, together with what the turn's other events add:
   * the responses of many streams (each its backend's event) go out in one TLS record and one write, as HAProxy and
   * nghttp2 gather them, instead of one each. The socket's interest is set then.
   */
  void flushSoon() {
    if (flushDue) return;
    flushDue = true;
    client.loop.atTurnEnd(flushAtTurnEnd);
  }

  private void flushAtTurnEnd() {
    flushDue = false;
    if (!client.isOpen()) return;
    flush();
    client.updateInterest();
  }

  /** Writes what the frames produced; ends the connection after a GOAWAY for an error, or when both sides are done. */
  void flush() {
    ByteBuffer out = h2.output();
    try {
      while (out.hasRemaining() || client.transport().writePending()) {
        int before = out.remaining();
        client.write(out);
        // TLS may have taken the bytes and still hold them encrypted: the socket must become writable first
        if (client.transport().writePending() || out.remaining() == before) break;
      }
    } catch (IOException e) {
      client.close();
      return;
    }
    if (!out.hasRemaining() && !client.transport().writePending()) {
      if (h2.closed() || (h2.goingAway() && h2.activeStreams() == 0 && exchanges.isEmpty())) {
        client.close();
        return;
      }
      resumePaused();
    }
  }

  /** Whether the socket must say when it can take more: not for output that the turn's end writes anyway. */
  boolean wantsWrite() {
    return (h2.hasOutput() && !flushDue) || client.transport().writePending();
  }

  /** The client may take more: response bytes waiting on a full output go on. */
  private void resumePaused() {
    if (paused.isEmpty() || h2.outputFull()) return;
    H2StreamUser[] waiting = paused.toArray(H2StreamUser[]::new);
    paused.clear();
    for (H2StreamUser e : waiting) e.clientWritable();
  }

  void pause(H2StreamUser exchange) {
    if (!paused.contains(exchange)) paused.add(exchange);
  }

  void sweep(long now) {
    for (H2StreamUser e : exchanges.values().toArray(H2StreamUser[]::new)) e.sweep(now);
  }

  /** Whether streams are under way (the connection is not idle even if no byte moves). */
  boolean busy() {
    return !exchanges.isEmpty();
  }

  /** Idle past the client timeout with no stream under way: a GOAWAY tells the client why, then the socket closes. */
  void idle() {
    h2.goAway();
    flush();
    client.close();
  }

  /** The listener stops: GOAWAY, then the streams under way finish. */
  void drain() {
    h2.goAway();
    flush();
  }

  /** The client connection closed: every exchange ends. */
  void closed() {
    for (H2StreamUser e : exchanges.values().toArray(H2StreamUser[]::new)) e.abort();
    exchanges.clear();
    paused.clear();
  }

  void exchangeDone(H2StreamUser exchange) {
    exchanges.remove(exchange.streamId());
    paused.remove(exchange);
  }

  // --- streams

  @Override
  public void request(H2Request request) {
    ExchangeLog log = new ExchangeLog(client.listenerObserver());
    log.protocol = ExchangeLog.HTTP_2;
    long now = client.loop.now();
    log.begin(now, now, client.ip(), client.clientSocket().getPort(), 0);
    String requestId = HeaderRewriter.requestId(request.headers());
    log.request(request.method(), request.path(), requestId);
    if (request.problem() != null) {
      answer(request, ProxyError.of(request.problem()), requestId, log);
      return;
    }
    ParsedTarget parsed = policy.parseTarget(request.path());
    if (parsed instanceof WireError error) {
      answer(request, ProxyError.of(error), requestId, log);
      return;
    }
    RequestTarget target = (RequestTarget) parsed;
    Admission admission = policy.admit(client.address(), request.authority(), target, request.headers(), request.contentLength());
    if (admission instanceof ProxyError error) {
      answer(request, error, requestId, log);
      return;
    }
    Route route = (Route) admission;
    log.routed(route);
    dev.fulcrum.config.BackendProtocol protocol = route.protocol();
    if (protocol.http2() && route.upstreamKey().perClient()) {
      answer(request, ProxyError.needsHttp1(route.pool(), protocol, "the route's send-proxy-protocol"), requestId, log);
      return;
    }
    H2StreamUser exchange = protocol.http2()
        ? new H2ToH2Exchange(this, policy, pool, request, route, protocol, requestId, target, log)
        : new H2Exchange(this, policy, pool, request, route, requestId, target, log);
    exchanges.put(request.streamId(), exchange);
    if (!exchange.start()) {
      exchanges.remove(request.streamId());
      answer(request, ProxyError.noBackend(route.pool()), requestId, log);
    }
  }

  @Override
  public void bodyArrived(int streamId) {
    H2StreamUser e = exchanges.get(streamId);
    if (e != null) e.requestBodyArrived();
  }

  @Override
  public void trailers(int streamId, HeaderFields trailers) {
    H2StreamUser e = exchanges.get(streamId);
    if (e != null) e.requestTrailers(trailers);
  }

  @Override
  public void reset(int streamId, int errorCode) {
    H2StreamUser e = exchanges.remove(streamId);
    if (e != null) e.cancelled();
  }

  @Override
  public void writable(int streamId) {
    H2StreamUser e = exchanges.get(streamId);
    if (e != null) e.clientWritable();
  }

  /** One of the proxy's own answers on a stream: in gRPC's terms for a gRPC call. */
  void answer(H2Request request, ProxyError error, String requestId, ExchangeLog log) {
    int stream = request.streamId();
    HeaderFields headers = new HeaderFields(4);
    headers.add("x-request-id", requestId);
    byte[] body;
    int status;
    if (request.grpc()) {
      status = 200;
      headers.add("content-type", "application/grpc");
      headers.add("grpc-status", Integer.toString(GrpcStatus.of(error)));
      headers.add("grpc-message", GrpcStatus.message(error.message()));
      body = new byte[0];
    } else {
      status = error.status();
      headers.add("content-type", "text/plain; charset=UTF-8");
      body = error.body();
      headers.add("content-length", Integer.toString(body.length));
    }
    h2.respond(stream, status, headers, body.length == 0);
    // a body the client still sends is dropped as it comes (H2ServerConnection, once the response ended)
    if (body.length > 0) h2.data(stream, ByteBuffer.wrap(body), true);
    log.answered(status, body.length, client.loop.now());
  }
}
