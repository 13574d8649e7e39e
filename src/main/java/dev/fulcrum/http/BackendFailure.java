package dev.fulcrum.http;

import dev.fulcrum.Failures;
import dev.fulcrum.config.HttpRouteSettings.Upstream;
import java.net.ConnectException;
import org.apache.pekko.http.scaladsl.model.EntityStreamSizeException;
import org.apache.pekko.stream.StreamTcpException;

/** Why a request to a backend failed, which decides the status and whether another backend may be tried. */
record BackendFailure(Kind kind, String reason) {
  enum Kind {
    /** Nothing was sent: the connection was never made. */
    CONNECT,
    /** Nothing was sent: the backend did not accept the connection within the connect timeout. */
    CONNECT_TIMEOUT,
    /** Nothing was sent: too many requests already wait for this backend. */
    BUSY,
    TIMEOUT,
    /** The client's body exceeded the limit while it was being forwarded. */
    TOO_LARGE,
    INVALID_RESPONSE,
    /** The request (or part of it) was sent, then the connection broke. */
    RESET
  }

  /** The connection to the backend was never made (refused or timed out): nothing was sent, health should hear of it. */
  boolean connectFailed() {
    return kind == Kind.CONNECT || kind == Kind.CONNECT_TIMEOUT;
  }

  /**
   * Whether another backend may be tried (attempts and the retry budget permitting): not once the request may have
   * reached a backend, unless it can be sent again without harm.
   */
  boolean retryable(boolean replayable) {
    return switch (kind) {
      case CONNECT, CONNECT_TIMEOUT, BUSY -> true;
      case RESET -> replayable;
      case TIMEOUT, TOO_LARGE, INVALID_RESPONSE -> false;
    };
  }

  /** What the client is told when no other backend is tried. */
  ProxyError clientError(Upstream upstream, long maxBodySize) {
    return switch (kind) {
      case CONNECT -> new ProxyError(502, "bad gateway: could not connect to a backend");
      // as nginx: the backend did not answer the connect in time, so the gateway timed out
      case CONNECT_TIMEOUT -> new ProxyError(504,
          "gateway timeout: connect to the backend timed out after " + upstream.connectTimeout().toMillis() + " ms");
      case BUSY -> new ProxyError(503, "backends busy: too many requests waiting");
      case TIMEOUT -> new ProxyError(504,
          "gateway timeout: the backend did not answer within " + upstream.responseTimeout().toMillis() + " ms");
      case TOO_LARGE -> ProxyError.tooLarge(maxBodySize);
      case INVALID_RESPONSE -> new ProxyError(502, "bad gateway: invalid response from the backend");
      case RESET -> new ProxyError(502, "bad gateway: the backend closed the connection without a response");
    };
  }

  static BackendFailure of(Throwable failure) {
    Throwable top = Failures.unwrap(failure);
    for (Throwable t = top; t != null; t = t.getCause()) {
      if (t instanceof Exchange.ResponseTimeoutException) return new BackendFailure(Kind.TIMEOUT, "response timeout");
      if (t instanceof BackendClients.BackendBusyException) return new BackendFailure(Kind.BUSY, message(t));
      if (t instanceof EntityStreamSizeException) return new BackendFailure(Kind.TOO_LARGE, message(t));
      if (t instanceof ConnectException || isConnectCommand(t)) {
        return new BackendFailure(isConnectTimeout(t) ? Kind.CONNECT_TIMEOUT : Kind.CONNECT, message(t));
      }
      if (t.getClass().getName().endsWith("IllegalResponseException")) {
        return new BackendFailure(Kind.INVALID_RESPONSE, message(t));
      }
      if (t.getClass().getName().endsWith("EntityStreamException")
          || t.getClass().getName().endsWith("ParsingException")) {
        return new BackendFailure(Kind.INVALID_RESPONSE, message(t));
      }
    }
    return new BackendFailure(Kind.RESET, message(top));
  }

  /** Pekko reports a failed TCP connect as "Tcp command [Connect(...)] failed because of ...". */
  private static boolean isConnectCommand(Throwable t) {
    return t instanceof StreamTcpException && t.getMessage() != null && t.getMessage().startsWith("Tcp command [Connect(");
  }

  /** Pekko IO fails a connect that outlived its timeout with "Connect timeout of ... expired" (as cause or message). */
  private static boolean isConnectTimeout(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c.getMessage() != null && c.getMessage().contains("Connect timeout")) return true;
    }
    return false;
  }

  private static String message(Throwable t) {
    return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
  }
}
