package dev.fulcrum.http.wire;

/** Where a message body ends (RFC 9112 §6.3), decided once from its head. */
public enum BodyFraming {
  /** No body. */
  NONE,
  /** Content-Length bytes. */
  LENGTH,
  /** Chunked: the last chunk and trailer section end it. */
  CHUNKED,
  /** The connection closing ends it: a response without length, or a tunnel after 101. */
  UNTIL_CLOSE;

  /** A request's body: chunked, a Content-Length above zero, or none (RFC 9112 §6.3 rule 7: never until close). */
  public static BodyFraming of(RequestHead request) {
    if (request.chunked()) return CHUNKED;
    return request.contentLength() > 0 ? LENGTH : NONE;
  }

  /** A response's body, which also depends on the request it answers (RFC 9112 §6.3 rules 1-2). */
  public static BodyFraming of(ResponseHead response, String requestMethod) {
    int status = response.status();
    if (status == 101) return UNTIL_CLOSE;
    if (requestMethod.equals("HEAD") || status == 204 || status == 304 || status < 200) return NONE;
    if (response.chunked()) return CHUNKED;
    return response.contentLength() >= 0 ? LENGTH : UNTIL_CLOSE;
  }

  /**
   * Whether the client's connection may carry another request after this response: the client wants to keep it, and
   * the response's end is not marked by closing it.
   */
  public static boolean clientMayKeepAlive(RequestHead request, BodyFraming responseFraming) {
    return request.keepAlive() && responseFraming != UNTIL_CLOSE;
  }
}
