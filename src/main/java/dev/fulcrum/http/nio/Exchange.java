package dev.fulcrum.http.nio;

import dev.fulcrum.Failures;
import dev.fulcrum.config.BackendProtocol;
import dev.fulcrum.http.proxy.BackendFailure;
import dev.fulcrum.http.proxy.ExchangeLog;
import dev.fulcrum.http.proxy.ListenerPolicy;
import dev.fulcrum.http.proxy.ProxyError;
import dev.fulcrum.http.proxy.Route;
import dev.fulcrum.http.wire.BodyFraming;
import dev.fulcrum.http.wire.HeadWriter;
import dev.fulcrum.http.wire.HeaderFields;
import dev.fulcrum.http.wire.ParsedResponse;
import dev.fulcrum.http.wire.RequestHead;
import dev.fulcrum.http.wire.RequestTarget;
import dev.fulcrum.http.wire.ResponseHead;
import dev.fulcrum.http.wire.WireError;
import dev.fulcrum.routing.RoutedBackend;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One request of the nio engine on its way to a backend and its response on the way back. The listener's policy picks
 * the backends and decides on retries; this moves the bytes: it sends the rewritten head and streams the body, tries
 * the next backend when the policy says so, then streams the response to the client. A {@code 101} to a WebSocket
 * upgrade turns it into a tunnel.
 */
final class Exchange implements ClientExchange, UpstreamPool.Waiter, UpstreamConnection.User {
  private static final Logger log = LoggerFactory.getLogger(Exchange.class);

  /** Where the exchange is; each attempt on a backend starts again at {@link #CONNECTING}. */
  enum Phase {
    /** Waiting for a connection to the backend. */
    CONNECTING,
    /** Sending the request; no response yet. */
    SENDING,
    /** The request is sent whole; the response timeout runs until its head arrives. */
    WAITING,
    /** The response is on its way to the client (the request body may still be going up: an early answer). */
    RESPONDING,
    /** After a 101 to a WebSocket upgrade: bytes both ways until both sides have ended. */
    TUNNEL,
    /** Answered, passed on whole, or aborted. */
    DONE
  }

  private final ClientConnection client;
  private final ListenerPolicy policy;
  private final UpstreamPool pool;
  private final RequestHead head;
  private final Route route;
  private final String requestId;
  private final String path;
  private final HeaderFields requestHeaders;
  private final String backendTarget;
  /** Neither a Host header nor an absolute target (HTTP/1.0): as nginx, the backend is named as the host. */
  private final boolean hostless;
  private Phase phase = Phase.CONNECTING;
  private final BackendAttempts attempts;
  private UpstreamPool.Target target;
  private UpstreamConnection connection;
  /** The head sent to the backend, kept whole so another attempt can send it again. */
  private ByteBuffer requestHead;
  private BodyRelay upload;
  private BodyRelay download;
  /** Decided with the response head: whether the client's connection takes another request afterwards. */
  private boolean keepClient;
  private boolean backendKeepAlive;
  /** When the backend must have answered, while {@link Phase#WAITING}. */
  private long responseDeadline;

  Exchange(ClientConnection client, ListenerPolicy policy, UpstreamPool pool, RequestHead head, Route route,
      String requestId, RequestTarget target, String host) {
    this.client = client;
    this.policy = policy;
    this.pool = pool;
    this.head = head;
    this.route = route;
    this.requestId = requestId;
    this.path = target.path();
    HeaderFields headers = new HeaderFields(head.headers().size() + 6);
    route.requestHeaders(head.headers(), client.forwarded(requestId, host), headers);
    if (target.authority() != null) {
      headers.removeAll("host");
      headers.add("Host", target.authority());
    }
    if (head.chunked()) headers.add("Transfer-Encoding", "chunked");
    if (head.webSocketUpgrade()) {
      headers.add("Connection", "Upgrade");
      headers.add("Upgrade", head.headers().get("upgrade"));
    }
    this.requestHeaders = headers;
    this.backendTarget = route.backendPath(target) + target.query();
    this.hostless = host == null;
    if (!hostless) requestHead = HeadWriter.request(head.method(), backendTarget, head.minorVersion(), headers);
    this.attempts = new BackendAttempts(policy, route, client, client.log(), requestId, head.method(), head.hasBody());
  }

  /** Starts the first attempt; false (and nothing started) when the route's pool has no eligible backend. */
  @Override
  public boolean start() {
    RoutedBackend first = attempts.select(head.headers(), path);
    if (first == null) return false;
    attempt(first);
    return true;
  }

  private void attempt(RoutedBackend backend) {
    phase = Phase.CONNECTING;
    target = attempts.begin(backend, BackendProtocol.HTTP_1_1);
    if (hostless) {
      requestHeaders.removeAll("host");
      requestHeaders.add("Host", backend.address().toString());
      requestHead = HeadWriter.request(head.method(), backendTarget, head.minorVersion(), requestHeaders);
    }
    upload = new BodyRelay(client, requestHead.duplicate(), BodyFraming.of(head), head.contentLength(),
        policy.maxBodySize());
    pool.acquire(target, backend.stats(), this);
  }

  // --- from the upstream pool

  @Override
  public void queued() {
    // the client's log is reused by its next request: an exchange that ended writes nothing to it
    if (phase == Phase.CONNECTING) client.log().queued(client.loop.now());
  }

  @Override
  public void connecting() {
    if (phase == Phase.CONNECTING) client.log().connecting(client.loop.now());
  }

  @Override
  public void acquired(UpstreamConnection given) {
    if (phase != Phase.CONNECTING) {
      // the exchange ended while it waited
      pool.release(given);
      return;
    }
    connection = given;
    connection.lend(this);
    client.log().connected(client.loop.now());
    byte[] proxyHeader = connection.proxyHeader(client);
    if (proxyHeader != null) upload.precede(ByteBuffer.wrap(proxyHeader));
    phase = Phase.SENDING;
    pumpUpload();
    updateInterest();
  }

  @Override
  public void acquireFailed(BackendFailure failure) {
    if (phase == Phase.CONNECTING) failed(failure);
  }

  // --- socket events

  @Override
  public void backendReady(int readyOps) {
    if ((readyOps & SelectionKey.OP_WRITE) != 0) pumpUpload();
    if (phase != Phase.DONE && (readyOps & SelectionKey.OP_READ) != 0) backendReadable();
    if (phase != Phase.DONE) updateInterest();
  }

  @Override
  public void backendAborted(Throwable cause) {
    backendBroke(Failures.describe(cause));
  }

  /** The client sent bytes or closed; body bytes go on to the backend. */
  @Override
  public void clientReadable() {
    if (client.inputEnded() && phase != Phase.TUNNEL && uploading() && upload.wantsInput()) {
      // the client went away in the middle of its body
      abort();
      client.close();
      return;
    }
    if (connection != null) pumpUpload();
    if (phase != Phase.DONE) updateInterest();
  }

  @Override
  public void clientWritable() {
    if (download != null) pumpDownload();
    if (phase != Phase.DONE) updateInterest();
  }

  /** Whether the client's socket is to be watched for room to write. */
  @Override
  public boolean wantsClientWrite() {
    return download != null && download.blocked();
  }

  /** Checks the response timeout and the backend connection's idle time; called on every sweep of the client. */
  @Override
  public void sweep(long now) {
    if (phase == Phase.WAITING && now - responseDeadline >= 0) {
      failed(BackendFailure.responseTimeout());
      return;
    }
    if (connection == null || phase == Phase.TUNNEL) return;
    long idle = route.upstream().idleTimeout().toNanos();
    if (now - connection.lastActivity() < idle) return;
    if (download != null) {
      client.log().mark(ExchangeLog.Termination.TIMEOUT);
      abort();
      client.close();
    } else {
      failed(BackendFailure.idle("the backend connection", idle));
    }
  }

  /** Ends everything at once, e.g. because the client connection closed. */
  @Override
  public void abort() {
    if (phase == Phase.DONE) return;
    if (phase == Phase.CONNECTING && connection == null) pool.cancel(target, this);
    endAttempt();
    phase = Phase.DONE;
    logEnd(ExchangeLog.Termination.CLIENT_ABORT);
  }

  // --- request

  /** Whether the request body is still on its way up. */
  private boolean uploading() {
    return upload != null && !upload.complete();
  }

  private void pumpUpload() {
    if (connection == null || !uploading() || phase == Phase.DONE) return;
    try {
      if (!upload.pump(connection)) return;
      if (phase == Phase.SENDING) {
        phase = Phase.WAITING;
        responseDeadline = client.loop.now() + route.upstream().responseTimeout().toNanos();
      } else if (phase == Phase.TUNNEL) {
        connection.shutdownOutput();
        if (download.complete()) finish(false);
      }
    } catch (BodyRelay.MalformedBody e) {
      // the client's body is malformed or over the limit: its framing can no longer be trusted
      if (download == null) {
        endAttempt();
        phase = Phase.DONE;
        client.answer(ProxyError.of(e.error), requestId, true);
      } else {
        abort();
        client.close();
      }
    } catch (IOException e) {
      // the backend stopped taking the body after it began its response (e.g. an early 413): let it finish
      if (phase == Phase.RESPONDING) upload = null;
      else backendBroke(Failures.describe(e));
    }
  }

  // --- response

  private void backendReadable() {
    int n;
    try {
      n = connection.read();
    } catch (IOException e) {
      backendBroke(Failures.describe(e));
      return;
    }
    if (download != null) pumpDownload();
    else readResponseHead();
    if (phase != Phase.DONE && n < 0 && (download == null || download.wantsInput())) {
      backendBroke("the backend closed the connection");
    }
  }

  private void readResponseHead() {
    while (phase != Phase.DONE && download == null) {
      ParsedResponse parsed = connection.nextResponseHead();
      if (parsed == null) return;
      if (parsed instanceof WireError error) {
        failed(BackendFailure.invalidResponse(error.problem()));
        return;
      }
      ResponseHead response = (ResponseHead) parsed;
      // interim responses are dropped: the proxy answered the client's Expect itself
      if (response.status() >= 200 || response.status() == 101) respond(response);
    }
  }

  private void respond(ResponseHead response) {
    attempts.responded(response.status());
    boolean tunnel = response.status() == 101 && head.webSocketUpgrade();
    BodyFraming framing = BodyFraming.of(response, head.method());
    keepClient = BodyFraming.clientMayKeepAlive(head, framing) && !client.draining() && !uploading();
    backendKeepAlive = response.keepAlive();
    HeaderFields headers = new HeaderFields(response.headers().size() + 4);
    route.responseHeaders(response.headers(), requestId, headers);
    String cookie = attempts.stickyCookie();
    if (cookie != null) headers.add("Set-Cookie", cookie);
    if (tunnel) {
      headers.add("Connection", "Upgrade");
      headers.add("Upgrade", head.headers().get("upgrade"));
    } else {
      if (framing == BodyFraming.CHUNKED) {
        headers.removeAll("content-length");
        headers.add("Transfer-Encoding", "chunked");
      }
      if (!keepClient) headers.add("Connection", "close");
      else if (head.minorVersion() == 0) headers.add("Connection", "keep-alive");
    }
    ByteBuffer bytes = HeadWriter.response(response.status(), response.reason(), headers);
    download = new BodyRelay(connection, bytes, framing, response.contentLength(), Long.MAX_VALUE);
    if (tunnel) {
      phase = Phase.TUNNEL;
      upload = new BodyRelay(client, null, BodyFraming.UNTIL_CLOSE, 0, 0);
    } else {
      phase = Phase.RESPONDING;
    }
    pumpDownload();
    if (phase == Phase.TUNNEL) pumpUpload();
  }

  private void pumpDownload() {
    if (phase == Phase.DONE) return;
    try {
      if (!download.pump(client)) return;
    } catch (IOException e) {
      // the response is under way: all the client can be told is that the connection ends
      log.debug("request {}: response from {} broke off: {}", requestId, attempts.backend().address(), e.getMessage());
      abort();
      client.close();
      return;
    }
    if (phase == Phase.TUNNEL) {
      client.shutdownOutput();
      if (!uploading()) finish(false);
      return;
    }
    finish(backendKeepAlive && upload != null && !uploading() && !download.untilClose() && !connection.inputEnded()
        && connection.unconsumed() == 0);
  }

  private void finish(boolean reusable) {
    UpstreamConnection used = connection;
    connection = null;
    attempts.end();
    pool.giveBack(used, reusable);
    phase = Phase.DONE;
    logEnd(ExchangeLog.Termination.NORMAL);
    client.exchangeDone(keepClient);
  }

  // --- failures

  private void backendBroke(String reason) {
    if (phase == Phase.DONE) return;
    if (download != null) {
      log.debug("request {}: backend {} broke off: {}", requestId, attempts.backend().address(), reason);
      client.log().mark(ExchangeLog.Termination.BACKEND_RESET);
      abort();
      client.close();
      return;
    }
    failed(BackendFailure.reset(reason));
  }

  /** The attempt failed before any of the response reached the client: try again, or answer with an error. */
  private void failed(BackendFailure failure) {
    if (phase == Phase.DONE) return;
    boolean pooled = connection != null && connection.reused();
    endAttempt();
    RoutedBackend next = attempts.retry(failure, pooled);
    if (next != null) {
      attempt(next);
    } else {
      phase = Phase.DONE;
      // an unread request body leaves the connection's framing unknown
      client.answer(attempts.answer(failure), requestId, head.hasBody() || !head.keepAlive());
    }
  }

  /** The attempt is over: its connection goes back to the pool or is closed, and the backend's stats hear of it. */
  private void endAttempt() {
    if (connection != null) {
      pool.close(connection);
      connection = null;
    }
    attempts.end();
  }

  /** The request is over for the access log and the counters, with the bytes moved so far. */
  private void logEnd(ExchangeLog.Termination otherwise) {
    client.log().end(otherwise, upload == null ? 0 : upload.bodyBytes(), download == null ? 0 : download.bytesWritten(),
        client.loop.now());
  }

  private void updateInterest() {
    client.updateInterest();
    if (connection != null) {
      boolean read = !connection.inputEnded() && connection.inputHasRoom() && !(download != null && download.blocked());
      boolean write = upload != null && upload.blocked() && phase != Phase.DONE;
      connection.interest(read, write);
    }
  }
}
