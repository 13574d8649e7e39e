package dev.fulcrum;

import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/** Short words for why an I/O operation failed, for logs and user-facing messages: no exception chains. */
public final class Failures {
  private Failures() {}

  /** The failure itself, without the CompletionException/ExecutionException wrappers that futures add around it. */
  public static Throwable unwrap(Throwable failure) {
    Throwable t = failure;
    while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) t = t.getCause();
    return t;
  }

  /**
   * Whether the failure is a host name that did not resolve: the JDK's UnresolvedAddressException has no message,
   * and Pekko's TCP reports it as "Unresolved address" in a SocketException of its own.
   */
  public static boolean unresolved(Throwable failure) {
    for (Throwable c = unwrap(failure); c != null; c = c.getCause()) {
      if (c instanceof java.nio.channels.UnresolvedAddressException) return true;
      String message = c.getMessage();
      if (message != null && (message.contains("UnresolvedAddressException") || message.contains("Unresolved address"))) return true;
    }
    return false;
  }

  public static String describe(Throwable failure) {
    Throwable t = unwrap(failure);
    if (unresolved(t)) return "the host name does not resolve";
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof java.net.BindException) return "address already in use or not available";
    }
    String message = t.getMessage();
    if (message == null) return t.getClass().getSimpleName();
    if (message.contains("Address already in use")) return "address already in use";
    // Pekko wraps socket errors as "Tcp command [Connect(...)] failed because of java.net.ConnectException: ..."
    int because = message.indexOf("because of ");
    return because >= 0 ? message.substring(because + "because of ".length()) : message;
  }
}
