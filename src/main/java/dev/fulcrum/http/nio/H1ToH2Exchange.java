package dev.fulcrum.http.nio;

import dev.fulcrum.config.BackendProtocol;
import dev.fulcrum.http.h2.H2ClientConnection;
import dev.fulcrum.http.proxy.ExchangeLog;
import dev.fulcrum.http.proxy.ListenerPolicy;
import dev.fulcrum.http.proxy.ProxyError;
import dev.fulcrum.http.proxy.Route;
import dev.fulcrum.http.wire.BodyFraming;
import dev.fulcrum.http.wire.ChunkedScanner;
import dev.fulcrum.http.wire.ChunkedTrailers;
import dev.fulcrum.http.wire.HeadWriter;
import dev.fulcrum.http.wire.HeaderFields;
import dev.fulcrum.http.wire.RequestHead;
import dev.fulcrum.http.wire.RequestTarget;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.eclipse.jetty.http2.ErrorCode;

/**
 * An HTTP/1.1 request carried on a stream of an HTTP/2 backend connection ({@link H2Upstream}), as RFC 9113 §8 says:
 * the head through the route's rules without connection-specific fields, {@code Host} as {@code :authority}, the body
 * taken out of its HTTP/1.1 framing into DATA (a chunked body's trailers as trailing HEADERS); the response head back
 * as HTTP/1.1, its body with the backend's Content-Length, else chunked (its trailers in the last chunk), else (an
 * HTTP/1.0 client) until close. Body bytes move only as the other side takes them: a slow side stalls its stream.
 */
final class H1ToH2Exchange extends H2BackendStream implements ClientExchange {
  private final RequestHead head;
  private final String path;
  private final String host;
  private final HeaderFields headers;
  private final BodyFraming upFraming;
  private final ChunkedScanner upChunked;
  private final ChunkedTrailers upTrailers;
  private long upRemaining;
  private BodyFraming downFraming;
  private boolean keepClient;
  /** Response bytes for the client not written yet. */
  private ByteBuffer pending;
  private boolean downEnded;
  private boolean blocked;

  H1ToH2Exchange(ClientConnection client, ListenerPolicy policy, UpstreamPool pool, RequestHead head, Route route,
      BackendProtocol protocol, String requestId, RequestTarget target, String host) {
    super(client, pool, route, protocol, requestId, client.log(), new BackendAttempts(policy, route, client,
        client.log(), requestId, head.method(), head.hasBody()), route.backendPath(target) + target.query(),
        head.headers().get("grpc-timeout"));
    this.head = head;
    this.path = target.path();
    this.host = host;
    this.headers = H2Translation.requestHeaders(head.headers(), route, client.forwarded(requestId, host));
    this.upFraming = BodyFraming.of(head);
    this.upRemaining = head.contentLength();
    this.upChunked = upFraming == BodyFraming.CHUNKED ? new ChunkedScanner(policy.maxBodySize()) : null;
    this.upTrailers = upFraming == BodyFraming.CHUNKED ? new ChunkedTrailers() : null;
  }

  @Override
  String method() {
    return head.method();
  }

  @Override
  String authority() {
    return host;
  }

  @Override
  HeaderFields headers() {
    return headers;
  }

  @Override
  boolean endsWithHead() {
    return upFraming == BodyFraming.NONE;
  }

  @Override
  public boolean start() {
    return start(attempts.select(head.headers(), path));
  }

  // --- from the client

  @Override
  public void clientReadable() {
    if (phase == Phase.DONE) return;
    if (client.inputEnded() && upFraming != BodyFraming.NONE && !upEnded && client.unconsumed() == 0) {
      // the client went away in the middle of its body
      abort();
      client.close();
      return;
    }
    pumpUpload();
    settle();
  }

  @Override
  public void clientWritable() {
    if (phase == Phase.RESPONDING) pumpDownload();
    settle();
  }

  @Override
  public boolean wantsClientWrite() {
    return blocked && phase == Phase.RESPONDING;
  }

  // --- request body: out of its HTTP/1.1 framing into DATA

  @Override
  void pumpUpload() {
    if (upstream == null || upEnded || phase == Phase.DONE) return;
    H2ClientConnection frames = upstream.frames();
    while (!upEnded) {
      if (upFraming == BodyFraming.LENGTH) {
        int n = (int) Math.min(client.unconsumed(), upRemaining);
        if (n == 0) return;
        int taken = send(frames, n, n == upRemaining);
        upRemaining -= taken;
        if (taken < n) return; // the backend's windows are shut: writable() resumes
        if (upRemaining == 0) {
          upEnded = true;
          waiting();
        }
        continue;
      }
      if (!upChunked.inData()) {
        int end = client.scanFraming(upChunked);
        if (end < 0) {
          malformed(ProxyError.of(upChunked.error()));
          return;
        }
        upTrailers.framing(client.unconsumedView(end), upChunked.inData());
        client.consume(end);
        if (upChunked.done()) {
          HeaderFields trailers = upTrailers.trailers();
          if (trailers != null) frames.trailers(upstreamId, trailers);
          else frames.data(upstreamId, EMPTY, true);
          upEnded = true;
          waiting();
          return;
        }
        if (!upChunked.inData()) return;
      }
      int n = (int) Math.min(client.unconsumed(), upChunked.chunkLeft());
      if (n == 0) return;
      int taken = send(frames, n, false);
      upChunked.skipData(taken);
      if (taken < n) return;
    }
  }

  private int send(H2ClientConnection frames, int n, boolean last) {
    ByteBuffer view = client.unconsumedView(n);
    int before = view.position();
    frames.data(upstreamId, view, last);
    int taken = view.position() - before;
    client.consume(taken);
    upBytes += taken;
    return taken;
  }

  /** The client's body broke its framing or its size limit: the connection cannot be trusted any more. */
  private void malformed(ProxyError error) {
    if (!responseStarted) {
      endAttempt();
      phase = Phase.DONE;
      client.answer(error, requestId, true);
    } else {
      abort();
      client.close();
    }
  }

  // --- response, from the backend's stream

  @Override
  public void response(int status, HeaderFields fields, boolean endStream) {
    if (phase == Phase.DONE) return;
    responded(status);
    HeaderFields out = new HeaderFields(fields.size() + 4);
    route.responseHeaders(fields, requestId, out);
    String cookie = attempts.stickyCookie();
    if (cookie != null) out.add("Set-Cookie", cookie);
    boolean bodiless = head.method().equals("HEAD") || status == 204 || status == 304;
    if (endStream || bodiless) {
      downFraming = BodyFraming.NONE;
      if (!bodiless && out.get("content-length") == null) out.add("Content-Length", "0");
    } else if (fields.get("content-length") != null) {
      downFraming = BodyFraming.LENGTH;
    } else if (head.minorVersion() >= 1) {
      downFraming = BodyFraming.CHUNKED;
      out.add("Transfer-Encoding", "chunked");
    } else {
      downFraming = BodyFraming.UNTIL_CLOSE;
    }
    keepClient = head.keepAlive() && !client.draining() && upEnded && downFraming != BodyFraming.UNTIL_CLOSE;
    if (!keepClient) out.add("Connection", "close");
    else if (head.minorVersion() == 0) out.add("Connection", "keep-alive");
    pending = HeadWriter.response(status, status == 200 ? "OK" : "", out);
    downEnded = endStream || bodiless;
    phase = Phase.RESPONDING;
    pumpDownload();
    settle();
  }

  @Override
  void pumpDownload() {
    while (phase == Phase.RESPONDING) {
      if (pending != null && pending.hasRemaining()) {
        try {
          client.write(pending);
        } catch (IOException e) {
          abort();
          client.close();
          return;
        }
        if (pending.hasRemaining()) {
          blocked = true;
          return;
        }
      }
      blocked = false;
      pending = null;
      if (downEnded) {
        finish();
        return;
      }
      if (upstream == null) return;
      H2ClientConnection frames = upstream.frames();
      ByteBuffer body = frames.body(upstreamId);
      int available = body == null ? 0 : body.remaining();
      boolean ended = frames.bodyEnded(upstreamId);
      if (available > 0) {
        pending = frame(body, available);
        frames.consumed(upstreamId, available);
        downBytes += available;
        continue;
      }
      if (!ended) return;
      if (downFraming == BodyFraming.CHUNKED) pending = lastChunk();
      downEnded = true;
    }
  }

  /** {@code n} body bytes as the client's framing wants them: as they are, or as one chunk. */
  private ByteBuffer frame(ByteBuffer body, int n) {
    boolean chunk = downFraming == BodyFraming.CHUNKED;
    byte[] size = chunk ? (Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.US_ASCII) : new byte[0];
    ByteBuffer out = ByteBuffer.allocate(size.length + n + (chunk ? 2 : 0));
    out.put(size);
    out.put(out.position(), body, body.position(), n);
    out.position(out.position() + n);
    body.position(body.position() + n);
    if (chunk) out.put((byte) '\r').put((byte) '\n');
    return out.flip();
  }

  private ByteBuffer lastChunk() {
    StringBuilder b = new StringBuilder("0\r\n");
    if (responseTrailers != null) {
      for (int i = 0; i < responseTrailers.size(); i++) {
        b.append(responseTrailers.name(i)).append(": ").append(responseTrailers.value(i)).append("\r\n");
      }
    }
    return ByteBuffer.wrap(b.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1));
  }

  private void finish() {
    boolean keep = keepClient && upEnded;
    endAttempt();
    phase = Phase.DONE;
    logEnd(ExchangeLog.Termination.NORMAL);
    client.exchangeDone(keep);
  }

  // --- to the client

  @Override
  void answer(ProxyError error) {
    // an unread request body leaves the connection's framing unknown
    client.answer(error, requestId, head.hasBody() || !head.keepAlive());
  }

  @Override
  void cut(ErrorCode code) {
    client.close(); // all an HTTP/1.1 client can be told is that the connection ends
  }

  @Override
  void settle() {
    if (upstream != null) upstream.flush();
    if (phase != Phase.DONE) client.updateInterest();
  }
}
