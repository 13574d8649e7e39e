package dev.fulcrum.http.h2;

import dev.fulcrum.http.wire.HeaderFields;
import dev.fulcrum.http.wire.WireError;

/**
 * A request as an HTTP/2 stream opened it, translated for the proxy phases: {@code path} is {@code :path} as sent
 * (path and query), {@code authority} is {@code :authority} (or the Host field when the client sent only that),
 * {@code headers} are the regular fields with cookies joined into one (RFC 9113 §8.2.3) and a {@code host} field
 * naming the authority, as an HTTP/1.1 backend expects. {@code contentLength} is -1 when not declared. {@code
 * problem} is set when the request must be answered with an error instead (its header list is over the limit, its
 * authority is malformed).
 */
public record H2Request(
    int streamId,
    String method,
    String scheme,
    String authority,
    String path,
    HeaderFields headers,
    long contentLength,
    boolean endStream,
    WireError problem) {

  /** Whether a body may follow (END_STREAM did not come with the headers). */
  public boolean hasBody() {
    return !endStream;
  }

  /** A gRPC call: its errors are answered in gRPC's own terms. */
  public boolean grpc() {
    String type = headers.get("content-type");
    return type != null && type.regionMatches(true, 0, "application/grpc", 0, 16);
  }
}
