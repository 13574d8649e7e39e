package dev.fulcrum.http.pekko;

import dev.fulcrum.Failures;
import dev.fulcrum.http.proxy.BackendFailure;
import dev.fulcrum.http.proxy.BackendFailure.Kind;
import java.net.ConnectException;
import org.apache.pekko.http.scaladsl.model.EntityStreamSizeException;
import org.apache.pekko.stream.StreamTcpException;

/** Pekko's exceptions as the proxy's {@link BackendFailure} kinds, which decide retries and answers. */
final class PekkoFailures {
  private PekkoFailures() {}

  static BackendFailure of(Throwable failure) {
    Throwable top = Failures.unwrap(failure);
    for (Throwable t = top; t != null; t = t.getCause()) {
      if (t instanceof PekkoExchange.ResponseTimeoutException) return BackendFailure.responseTimeout();
      if (t instanceof BackendClients.BackendBusyException) return new BackendFailure(Kind.BUSY, message(t));
      if (t instanceof BackendClients.QueueTimeoutException) return new BackendFailure(Kind.QUEUE_TIMEOUT, message(t));
      if (t instanceof EntityStreamSizeException) return new BackendFailure(Kind.TOO_LARGE, message(t));
      if (t instanceof ConnectException || isConnectCommand(t)) {
        return new BackendFailure(isConnectTimeout(t) ? Kind.CONNECT_TIMEOUT : Kind.CONNECT, message(t));
      }
      String name = t.getClass().getName();
      if (name.endsWith("IllegalResponseException") || name.endsWith("EntityStreamException")
          || name.endsWith("ParsingException")) {
        return BackendFailure.invalidResponse(message(t));
      }
    }
    return BackendFailure.reset(message(top));
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
