package dev.fulcrum.http;

/**
 * Bytes on the wire that are not a message Fulcrum will handle, with the status to answer and a message a client can
 * read. Thrown per bad message, often by hostile traffic, so it carries no stack trace.
 */
final class HttpParseException extends Exception {
  private final int status;

  HttpParseException(int status, String message) {
    super(message, null, false, false);
    this.status = status;
  }

  /** What the client is told. */
  ProxyError error() {
    return new ProxyError(status, getMessage());
  }

  int status() {
    return status;
  }
}
