package dev.fulcrum.http.wire;

/**
 * A parsed response head from a backend. {@code contentLength} is -1 without a usable Content-Length: the body is then
 * chunked, or absent or delimited by the connection closing, depending on the status and the request method.
 */
public record ResponseHead(
    int minorVersion,
    int status,
    String reason,
    HeaderFields headers,
    long contentLength,
    boolean chunked,
    boolean keepAlive) implements ParsedResponse {}
