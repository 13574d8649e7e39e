package dev.fulcrum;

/** Start-up failed for a reason the operator can fix (a port in use, say); the message says which and where. */
public final class StartupException extends RuntimeException {
  public StartupException(String message) {
    super(message, null, false, false);
  }
}
