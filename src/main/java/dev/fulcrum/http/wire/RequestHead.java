package dev.fulcrum.http.wire;

/**
 * A parsed request head. {@code contentLength} is -1 without a Content-Length field (the body is then chunked or
 * absent); the framing fields were checked against each other, so at most one of contentLength and chunked applies.
 */
public record RequestHead(
    String method,
    String target,
    int minorVersion,
    HeaderFields headers,
    long contentLength,
    boolean chunked,
    boolean keepAlive,
    boolean expectContinue,
    boolean webSocketUpgrade) implements ParsedRequest {

  public boolean hasBody() {
    return chunked || contentLength > 0;
  }
}
