package dev.fulcrum.http.nio;

import dev.fulcrum.config.BackendProtocol;
import dev.fulcrum.http.h2.H2ClientConnection;
import dev.fulcrum.http.h2.H2Request;
import dev.fulcrum.http.h2.H2ServerConnection;
import dev.fulcrum.http.proxy.ExchangeLog;
import dev.fulcrum.http.proxy.ListenerPolicy;
import dev.fulcrum.http.proxy.ProxyError;
import dev.fulcrum.http.proxy.Route;
import dev.fulcrum.http.wire.HeaderFields;
import dev.fulcrum.http.wire.RequestTarget;
import java.nio.ByteBuffer;
import org.eclipse.jetty.http2.ErrorCode;

/**
 * One HTTP/2 stream of a client carried on a stream of an HTTP/2 backend connection ({@link H2Upstream}): the head
 * through the route's rules (connection-specific fields dropped, {@code te: trailers} kept as RFC 9113 §8.2.2 allows),
 * body and trailers both ways as each side's windows allow, and a reset on either side passed to the other. Request
 * and response flow independently, as gRPC's bidirectional streams need: the response may begin while the request
 * body still comes. Memory is bounded by the windows: body bytes are taken from one side only as the other takes them.
 */
final class H2ToH2Exchange extends H2BackendStream implements H2StreamUser {
  private final H2ClientSession session;
  private final H2ServerConnection h2;
  private final H2Request request;
  private final int stream;
  private final String path;
  private final HeaderFields headers;
  private HeaderFields requestTrailers;

  H2ToH2Exchange(H2ClientSession session, ListenerPolicy policy, UpstreamPool pool, H2Request request, Route route,
      BackendProtocol protocol, String requestId, RequestTarget target, ExchangeLog log) {
    super(session.client(), pool, route, protocol, requestId, log, new BackendAttempts(policy, route, session.client(),
        log, requestId, request.method(), request.hasBody()), route.backendPath(target) + target.query(),
        request.headers().get("grpc-timeout"));
    this.session = session;
    this.h2 = session.frames();
    this.request = request;
    this.stream = request.streamId();
    this.path = target.path();
    this.headers = H2Translation.requestHeaders(request.headers(), route,
        client.forwarded(requestId, request.authority()));
  }

  @Override
  String method() {
    return request.method();
  }

  @Override
  String authority() {
    return request.authority();
  }

  @Override
  HeaderFields headers() {
    return headers;
  }

  @Override
  boolean endsWithHead() {
    return request.endStream();
  }

  @Override
  public int streamId() {
    return stream;
  }

  @Override
  public boolean start() {
    return start(attempts.select(request.headers(), path));
  }

  // --- from the client's stream

  @Override
  public void requestBodyArrived() {
    pumpUpload();
    settle();
  }

  @Override
  public void requestTrailers(HeaderFields trailers) {
    requestTrailers = trailers;
    pumpUpload();
    settle();
  }

  @Override
  public void clientWritable() {
    if (phase == Phase.RESPONDING) pumpDownload();
    settle();
  }

  @Override
  public void cancelled() {
    if (phase == Phase.DONE) return;
    log.mark(ExchangeLog.Termination.CLIENT_ABORT);
    abort();
  }

  // --- request

  @Override
  void pumpUpload() {
    if (upstream == null || upEnded || phase == Phase.DONE) return;
    H2ClientConnection frames = upstream.frames();
    ByteBuffer body = h2.body(stream);
    int available = body == null ? 0 : body.remaining();
    boolean ended = h2.bodyEnded(stream);
    boolean last = ended && requestTrailers == null;
    if (available > 0 || last) {
      int taken = frames.data(upstreamId, body == null ? EMPTY : body, last);
      upBytes += taken;
      h2.consumed(stream, taken);
      if (taken < available) return; // the backend's windows are shut: writable() resumes
    }
    if (!ended) return;
    if (requestTrailers != null) frames.trailers(upstreamId, requestTrailers);
    upEnded = true;
    waiting();
  }

  // --- response, from the backend's stream

  @Override
  public void response(int status, HeaderFields fields, boolean endStream) {
    if (phase == Phase.DONE) return;
    responded(status);
    HeaderFields out = new HeaderFields(fields.size() + 2);
    route.responseHeaders(fields, requestId, out);
    String cookie = attempts.stickyCookie();
    if (cookie != null) out.add("set-cookie", cookie);
    h2.respond(stream, status, out, endStream);
    if (endStream) {
      finish();
    } else {
      phase = Phase.RESPONDING;
      pumpDownload();
    }
    settle();
  }

  @Override
  void pumpDownload() {
    H2ClientConnection frames = upstream.frames();
    while (phase == Phase.RESPONDING) {
      if (h2.outputFull()) {
        session.pause(this);
        return;
      }
      ByteBuffer body = frames.body(upstreamId);
      int available = body == null ? 0 : body.remaining();
      boolean ended = frames.bodyEnded(upstreamId);
      if (available > 0) {
        boolean last = ended && responseTrailers == null;
        int before = body.position();
        h2.data(stream, body, last);
        int taken = body.position() - before;
        frames.consumed(upstreamId, taken);
        downBytes += taken;
        if (taken < available) return; // the client's windows are shut: clientWritable() resumes
        if (last) {
          finish();
          return;
        }
        continue;
      }
      if (!ended) return;
      if (responseTrailers != null) h2.trailers(stream, responseTrailers);
      else h2.data(stream, EMPTY, true);
      finish();
    }
  }

  private void finish() {
    if (!upEnded && upstream != null) {
      // the backend answered before the request ended: it wants no more of it (RFC 9113 §8.1)
      upstream.cancel(upstreamId);
      upstream = null;
    }
    // a body the client still sends is dropped as it comes (H2ServerConnection, once the response ended)
    endAttempt();
    phase = Phase.DONE;
    logEnd(ExchangeLog.Termination.NORMAL);
    session.exchangeDone(this);
  }

  // --- to the client

  @Override
  void answer(ProxyError error) {
    session.exchangeDone(this);
    session.answer(request, error, requestId, log);
  }

  @Override
  void cut(ErrorCode code) {
    h2.reset(stream, code);
  }

  @Override
  void released() {
    session.exchangeDone(this);
  }

  /** After any event: the backend connection writes what was produced; the client, at the turn's end. */
  @Override
  void settle() {
    if (upstream != null) upstream.flush();
    session.flushSoon();
  }
}
