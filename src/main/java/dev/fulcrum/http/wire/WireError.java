package dev.fulcrum.http.wire;

/**
 * Bytes that are not a message Fulcrum will handle: what kind of problem, and a message a client can read. A value,
 * as Netty's {@code DecoderResult}: hostile traffic produces these by the thousand, and the caller picks the status
 * (a malformed request is the client's 400, a malformed response the proxy's 502).
 */
public record WireError(Kind kind, String problem) implements ParsedRequest, ParsedResponse, ParsedTarget, ParsedPath, ProxyProtocol.Parsed {
  public enum Kind {
    /** Not valid HTTP/1.1, or valid but ambiguous about where a message ends (request smuggling). */
    MALFORMED,
    /** The request target is longer than the limit. */
    TARGET_TOO_LONG,
    /** Too many header fields, or one too long. */
    FIELDS_TOO_LARGE,
    /** The body is larger than the limit. */
    BODY_TOO_LARGE,
    /** An HTTP version other than 1.0 and 1.1. */
    VERSION_NOT_SUPPORTED,
    /** Valid, but not something Fulcrum does: CONNECT, a transfer coding other than chunked. */
    NOT_IMPLEMENTED,
    /** An Expect other than 100-continue. */
    EXPECTATION_FAILED
  }

  public static WireError malformed(String problem) {
    return new WireError(Kind.MALFORMED, problem);
  }
}
