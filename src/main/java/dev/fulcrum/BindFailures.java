package dev.fulcrum;

/** Words for why a bind failed, without the exception chain a user does not need. */
final class BindFailures {
  private BindFailures() {}

  static String describe(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof java.net.BindException) return "address already in use or not available (" + t.getMessage() + ")";
    }
    String message = failure.getMessage();
    if (message != null && message.contains("Address already in use")) return "address already in use";
    return message == null ? failure.getClass().getSimpleName() : message;
  }
}
