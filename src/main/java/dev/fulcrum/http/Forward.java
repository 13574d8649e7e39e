package dev.fulcrum.http;

import dev.fulcrum.Failures;
import dev.fulcrum.routing.RoutedBackend;
import dev.fulcrum.routing.RoutingTable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One request of the nio engine on its way to a backend and its response on the way back: picks a backend (sticky
 * cookie first), sends the rewritten head and streams the body, retries the next backend when that is safe and the
 * budget allows, then streams the response to the client. A {@code 101} to a WebSocket upgrade turns it into a tunnel.
 */
final class Forward {
  private static final Logger log = LoggerFactory.getLogger(Forward.class);

  private final ClientConnection client;
  private final NioHttpListener listener;
  private final RequestHead head;
  private final Route route;
  private final String requestId;
  private final String path;
  private final HeaderFields requestHeaders;
  private final String backendTarget;
  /** Neither a Host header nor an absolute target (HTTP/1.0): as nginx, the backend is named as the host. */
  private final boolean hostless;
  /** The head sent to the backend, kept whole so another attempt can send it again. */
  private ByteBuffer requestHead;
  private final boolean replayable;
  private RoutingTable table;
  private int first;
  private int attempt;
  private String stickyToken;
  private RoutedBackend routed;
  private BackendConnection backend;
  private long started;
  private Transfer upload;
  private Transfer download;
  private boolean uploadDone;
  private boolean downloadDone;
  /** The backend stopped taking the request body after it began its response (e.g. an early 413): let it finish. */
  private boolean uploadBroken;
  private boolean responseKeepAlive;
  /** An attempt is under way: its backend's stats count it as started and not yet finished. */
  private boolean attempting;
  private boolean tunnel;
  private boolean closeClientAfter;
  private boolean ended;
  /** When the backend must have answered (checked on the client connection's sweeps), or 0 while not waiting. */
  private long responseDeadline;

  Forward(ClientConnection client, NioHttpListener listener, RequestHead head, Route route, String requestId,
      RequestTarget target, String host) {
    this.client = client;
    this.listener = listener;
    this.head = head;
    this.route = route;
    this.requestId = requestId;
    this.path = target.path();
    this.replayable = !head.hasBody() && isIdempotent(head.method());
    HeaderFields headers = HeaderRewriter.forRequest(head.headers(), client.ip(), requestId, host, route.requestRules);
    if (target.authority() != null) {
      headers.removeAll("host");
      headers.add("Host", target.authority());
    }
    this.requestHeaders = headers;
    if (head.chunked()) headers.add("Transfer-Encoding", "chunked");
    if (head.webSocketUpgrade()) {
      headers.add("Connection", "Upgrade");
      headers.add("Upgrade", head.headers().get("upgrade"));
    }
    this.backendTarget = target.rewritten(route);
    this.hostless = host == null;
    if (!hostless) requestHead = HeadWriter.request(head.method(), backendTarget, head.minorVersion(), headers);
  }

  /** Starts the first attempt; false (and nothing started) when the pool has no eligible backend. */
  boolean start() {
    table = route.table.current();
    stickyToken = route.stickyToken(head.headers());
    first = route.pick(table, stickyToken, client.address(), head.headers(), path);
    if (first < 0) return false;
    listener.retryBudget().onRequest();
    if (head.expectContinue() && head.hasBody()) client.sendContinue();
    attempt();
    return true;
  }

  private void attempt() {
    routed = table.get((first + attempt) % table.size());
    routed.stats().requestStarted();
    attempting = true;
    started = client.loop.now();
    if (hostless) {
      requestHeaders.removeAll("host");
      requestHeaders.add("Host", routed.address().toString());
      requestHead = HeadWriter.request(head.method(), backendTarget, head.minorVersion(), requestHeaders);
    }
    upload = new Transfer(client, requestHead.duplicate(), requestFraming(), head.contentLength(),
        head.chunked() ? new ChunkedScanner(listener.settings().limits().maxBodySize()) : null);
    client.backends().acquire(routed, route.clientKey, this);
  }

  // --- from the backend pool

  void connected(BackendConnection connection) {
    if (ended) {
      client.backends().release(connection);
      return;
    }
    backend = connection;
    connection.owner = this;
    pumpUpload();
    updateInterest();
  }

  void connectFailed(String reason, boolean timedOut) {
    if (ended) return;
    routed.reportConnectFailure(reason);
    failed(timedOut ? BackendFailure.Kind.CONNECT_TIMEOUT : BackendFailure.Kind.CONNECT, reason);
  }

  void busy() {
    failed(BackendFailure.Kind.BUSY, "too many requests waiting for " + routed.address());
  }

  // --- socket events

  void backendReady(int readyOps) {
    if ((readyOps & SelectionKey.OP_WRITE) != 0) pumpUpload();
    if (!ended && (readyOps & SelectionKey.OP_READ) != 0) backendReadable();
    if (!ended) updateInterest();
  }

  void backendAborted(Throwable cause) {
    backendBroke(Failures.describe(cause));
  }

  /** The client sent bytes or closed; body bytes go on to the backend. */
  void clientReadable() {
    if (client.inputEnded && !uploadDone && !tunnel && upload.wantsInput()) {
      abort();
      client.close();
      return;
    }
    if (backend != null && !uploadDone) pumpUpload();
    if (!ended) updateInterest();
  }

  void clientWritable() {
    if (download != null) pumpDownload();
    if (!ended) updateInterest();
  }

  /** Checks the response timeout and the backend connection's idle time; called on every sweep of the client. */
  void sweep(long now) {
    if (responseDeadline != 0 && now - responseDeadline >= 0) {
      failed(BackendFailure.Kind.TIMEOUT, "response timeout");
      return;
    }
    if (backend == null || tunnel) return;
    long idle = route.settings.upstream().idleTimeout().toNanos();
    if (now - backend.lastActivity < idle) return;
    if (download != null) {
      abort();
      client.close();
    } else {
      failed(BackendFailure.Kind.TIMEOUT, "the backend connection was idle for " + idle / 1_000_000 + " ms");
    }
  }

  /** Ends everything at once, e.g. because the client connection closed. */
  void abort() {
    if (ended) return;
    if (backend == null && attempting) client.backends().cancel(this, routed, route.clientKey);
    abortBackend();
    ended = true;
  }

  boolean writeBlocked() {
    return download != null && download.blocked;
  }

  // --- request

  private void pumpUpload() {
    if (backend == null || uploadDone || uploadBroken || ended) return;
    try {
      if (upload.pump(backend)) {
        uploadDone = true;
        if (!tunnel) {
          if (download == null) responseDeadline = client.loop.now() + route.settings.upstream().responseTimeout().toNanos();
        } else {
          backend.channel.shutdownOutput();
          if (downloadDone) finish(false);
        }
      }
    } catch (HttpParseException e) {
      // the client's body is malformed or over the limit: its framing can no longer be trusted
      if (download == null) {
        abortBackend();
        ended = true;
        client.respond(e.error(), requestId, true);
      } else {
        abort();
        client.close();
      }
    } catch (IOException e) {
      if (download != null && !tunnel) uploadBroken = true;
      else backendBroke(Failures.describe(e));
    }
  }

  private Transfer.Framing requestFraming() {
    if (head.chunked()) return Transfer.Framing.CHUNKED;
    return head.contentLength() > 0 ? Transfer.Framing.LENGTH : Transfer.Framing.NONE;
  }

  // --- response

  private void backendReadable() {
    int n;
    try {
      n = backend.read();
    } catch (IOException e) {
      backendBroke(Failures.describe(e));
      return;
    }
    if (download != null) {
      pumpDownload();
    } else {
      readResponseHead();
    }
    if (!ended && n < 0 && (download == null || download.wantsInput())) {
      backendBroke("the backend closed the connection");
    }
  }

  private void readResponseHead() {
    while (!ended && download == null) {
      if (backend.unconsumed() == 0) return;
      int end = backend.headEnd();
      if (end < 0) {
        if (!backend.inputHasRoom()) failed(BackendFailure.Kind.INVALID_RESPONSE, "response head too large");
        return;
      }
      ResponseHead response;
      try {
        response = HttpHeads.parseResponse(backend.in, backend.start, end);
      } catch (HttpParseException e) {
        failed(BackendFailure.Kind.INVALID_RESPONSE, e.getMessage());
        return;
      }
      backend.consume(end - backend.start);
      // interim responses are dropped: the proxy answered the client's Expect itself
      if (response.status() >= 200 || response.status() == 101) respond(response);
    }
  }

  private void respond(ResponseHead response) {
    responseDeadline = 0;
    routed.stats().connectSucceeded();
    tunnel = response.status() == 101 && head.webSocketUpgrade();
    Transfer.Framing framing = responseFraming(response);
    closeClientAfter = !head.keepAlive() || framing == Transfer.Framing.UNTIL_CLOSE || client.draining()
        || (!uploadDone && !tunnel);
    HeaderFields headers = HeaderRewriter.forResponse(response.headers(), requestId, route.responseRules);
    if (route.settings.sticky().enabled() && !StickyCookie.token(routed.address()).equals(stickyToken)) {
      headers.add("Set-Cookie", StickyCookie.setCookieValue(route.settings.sticky().cookie(), routed.address()));
    }
    if (tunnel) {
      headers.add("Connection", "Upgrade");
      headers.add("Upgrade", head.headers().get("upgrade"));
    } else if (framing == Transfer.Framing.CHUNKED) {
      headers.removeAll("content-length");
      headers.add("Transfer-Encoding", "chunked");
    }
    if (!tunnel && closeClientAfter) headers.add("Connection", "close");
    else if (!tunnel && head.minorVersion() == 0) headers.add("Connection", "keep-alive");
    ByteBuffer bytes = HeadWriter.response(response.status(), response.reason(), headers);
    download = new Transfer(backend, bytes, framing, response.contentLength(),
        framing == Transfer.Framing.CHUNKED ? new ChunkedScanner(Long.MAX_VALUE) : null);
    if (tunnel) {
      uploadDone = false;
      upload = new Transfer(client, null, Transfer.Framing.UNTIL_CLOSE, 0, null);
    }
    responseKeepAlive = response.keepAlive();
    pumpDownload();
    if (tunnel) pumpUpload();
  }

  private Transfer.Framing responseFraming(ResponseHead response) {
    int status = response.status();
    if (status == 101) return Transfer.Framing.UNTIL_CLOSE;
    if (head.method().equals("HEAD") || status == 204 || status == 304) return Transfer.Framing.NONE;
    if (response.chunked()) return Transfer.Framing.CHUNKED;
    return response.contentLength() >= 0 ? Transfer.Framing.LENGTH : Transfer.Framing.UNTIL_CLOSE;
  }

  private void pumpDownload() {
    if (ended) return;
    boolean done;
    try {
      done = download.pump(client);
    } catch (HttpParseException | IOException e) {
      // the response is under way: all the client can be told is that the connection ends
      log.debug("request {}: response from {} broke off: {}", requestId, routed.address(), e.getMessage());
      abort();
      client.close();
      return;
    }
    if (!done) return;
    downloadDone = true;
    if (tunnel) {
      shutdownClientOutput();
      if (uploadDone) finish(false);
      return;
    }
    finish(responseKeepAlive && uploadDone && !download.untilClose() && !backend.inputEnded && backend.unconsumed() == 0);
  }

  private void shutdownClientOutput() {
    try {
      client.channel.shutdownOutput();
    } catch (IOException ignored) {
      // the client is gone; closing follows
    }
  }

  private void finish(boolean reusable) {
    ended = true;
    attemptOver();
    if (reusable) client.backends().release(backend);
    else client.backends().close(backend);
    backend = null;
    client.forwardDone(closeClientAfter || tunnel);
  }

  // --- failures

  private void backendBroke(String reason) {
    if (ended) return;
    if (download != null) {
      log.debug("request {}: backend {} broke off: {}", requestId, routed.address(), reason);
      abort();
      client.close();
      return;
    }
    failed(BackendFailure.Kind.RESET, reason);
  }

  private void abortBackend() {
    responseDeadline = 0;
    if (backend != null) {
      client.backends().close(backend);
      backend = null;
    }
    attemptOver();
  }

  private void attemptOver() {
    if (!attempting) return;
    attempting = false;
    routed.stats().requestFinished(client.loop.now() - started);
  }

  /** The attempt failed before any of the response reached the client: try again, or answer with an error. */
  private void failed(BackendFailure.Kind kind, String reason) {
    if (ended) return;
    BackendFailure failure = new BackendFailure(kind, reason);
    boolean staleReuse = kind == BackendFailure.Kind.RESET && backend != null && backend.reused && replayable;
    abortBackend();
    log.debug("request {} to {} failed on attempt {}: {} ({})", requestId, routed.address(), attempt + 1, kind, reason);
    uploadDone = false;
    if (staleReuse) {
      // a pooled connection the backend had closed while idle: the request never reached it, so try once more
      attempt();
      return;
    }
    if (failure.retryable(replayable) && mayRetry()) {
      retry();
    } else {
      ended = true;
      // an unread request body leaves the connection's framing unknown
      client.respond(failure.clientError(route.settings.upstream(), listener.settings().limits().maxBodySize()),
          requestId, head.hasBody() || !head.keepAlive());
    }
  }

  private boolean mayRetry() {
    return attempt + 1 < Math.min(route.settings.upstream().maxAttempts(), table.size())
        && listener.retryBudget().tryRetry();
  }

  private void retry() {
    attempt++;
    attempt();
  }

  private void updateInterest() {
    client.updateInterest();
    if (backend != null) {
      boolean read = !backend.inputEnded && backend.inputHasRoom() && !(download != null && download.blocked);
      backend.interest(read, upload != null && upload.blocked && !uploadDone && !uploadBroken);
    }
  }

  private static boolean isIdempotent(String method) {
    return switch (method) {
      case "GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE" -> true;
      default -> false;
    };
  }
}
