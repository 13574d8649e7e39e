package dev.fulcrum.http.proxy;

import dev.fulcrum.config.HttpRouteSettings.Upstream;

/**
 * Why a request to a backend failed, which decides the status and whether another backend may be tried. Each engine
 * maps its own failures to these kinds; the decisions are made here once.
 */
public record BackendFailure(Kind kind, String reason) {
  public enum Kind {
    /** Nothing was sent: the connection was never made. */
    CONNECT,
    /** Nothing was sent: the backend did not accept the connection within the connect timeout. */
    CONNECT_TIMEOUT,
    /** Nothing was sent: too many requests already wait for this backend. */
    BUSY,
    /** Nothing was sent: no connection to the backend came free within the queue timeout. */
    QUEUE_TIMEOUT,
    TIMEOUT,
    /** The client's body exceeded the limit while it was being forwarded. */
    TOO_LARGE,
    INVALID_RESPONSE,
    /** The request (or part of it) was sent, then the connection broke. */
    RESET
  }

  /** The response (its head, or its framing) is not one the proxy can pass on. */
  public static BackendFailure invalidResponse(String problem) {
    return new BackendFailure(Kind.INVALID_RESPONSE, problem);
  }

  /** The connection (or stream) to the backend broke after the request, or part of it, was sent. */
  public static BackendFailure reset(String reason) {
    return new BackendFailure(Kind.RESET, reason);
  }

  /** The request was sent whole and the route's response timeout passed without a response head. */
  public static BackendFailure responseTimeout() {
    return new BackendFailure(Kind.TIMEOUT, "response timeout");
  }

  /** No bytes either way for the route's idle timeout on {@code what} ("the backend connection", "the backend's stream"). */
  public static BackendFailure idle(String what, long idleNanos) {
    return new BackendFailure(Kind.TIMEOUT, what + " was idle for " + idleNanos / 1_000_000 + " ms");
  }

  /** The connection to the backend was never made (refused or timed out): nothing was sent, health should hear of it. */
  public boolean connectFailed() {
    return kind == Kind.CONNECT || kind == Kind.CONNECT_TIMEOUT;
  }

  /**
   * Whether another backend may be tried (attempts and the retry budget permitting): not once the request may have
   * reached a backend, unless it can be sent again without harm.
   */
  public boolean retryable(boolean replayable) {
    return switch (kind) {
      case CONNECT, CONNECT_TIMEOUT, BUSY -> true;
      case RESET -> replayable;
      // as HAProxy: a request that waited its queue timeout is answered, not queued again elsewhere
      case QUEUE_TIMEOUT, TIMEOUT, TOO_LARGE, INVALID_RESPONSE -> false;
    };
  }

  /** What the client is told when no other backend is tried. */
  public ProxyError clientError(Upstream upstream, long maxBodySize) {
    return switch (kind) {
      case CONNECT -> new ProxyError(502, "bad gateway: could not connect to a backend");
      // as nginx: the backend did not answer the connect in time, so the gateway timed out
      case CONNECT_TIMEOUT -> new ProxyError(504,
          "gateway timeout: connect to the backend timed out after " + upstream.connectTimeout().toMillis() + " ms");
      case BUSY -> new ProxyError(503, "backends busy: too many requests waiting");
      case QUEUE_TIMEOUT -> new ProxyError(503,
          "backends busy: no connection to a backend came free within " + upstream.queueTimeout().toMillis() + " ms");
      case TIMEOUT -> new ProxyError(504,
          "gateway timeout: the backend did not answer within " + upstream.responseTimeout().toMillis() + " ms");
      case TOO_LARGE -> ProxyError.tooLarge(maxBodySize);
      case INVALID_RESPONSE -> new ProxyError(502, "bad gateway: invalid response from the backend");
      case RESET -> new ProxyError(502, "bad gateway: the backend closed the connection without a response");
    };
  }
}
