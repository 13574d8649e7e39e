package dev.fulcrum.http.proxy;

import dev.fulcrum.http.wire.WireError;
import java.nio.charset.StandardCharsets;

/** An answer the proxy gives itself instead of a backend's, the same on both engines: a status and what went wrong. */
public record ProxyError(int status, String message) implements Admission {
  public static ProxyError noRoute() {
    return new ProxyError(404, "no route matched this request");
  }

  public static ProxyError forbidden() {
    return new ProxyError(403, "forbidden by the firewall");
  }

  public static ProxyError noBackend(String pool) {
    return new ProxyError(503, "no healthy backend in pool '" + pool + "'");
  }

  /**
   * The pool speaks HTTP/2 to its backends (changed at runtime: the config refuses this) and the request cannot be
   * carried so: {@code why} says what needs HTTP/1.1.
   */
  public static ProxyError needsHttp1(String pool, dev.fulcrum.config.BackendProtocol protocol, String why) {
    return new ProxyError(502, "pool " + pool + " speaks " + protocol.kind().label + " to its backends, and " + why
        + " needs HTTP/1.1");
  }

  public static ProxyError tooLarge(long limit) {
    return new ProxyError(413, "request body larger than the limit of " + limit + " bytes");
  }

  /** What a client is told about a request (head, target or body) the wire layer refused. */
  public static ProxyError of(WireError error) {
    int status = switch (error.kind()) {
      case MALFORMED -> 400;
      case TARGET_TOO_LONG -> 414;
      case FIELDS_TOO_LARGE -> 431;
      case BODY_TOO_LARGE -> 413;
      case VERSION_NOT_SUPPORTED -> 505;
      case NOT_IMPLEMENTED -> 501;
      case EXPECTATION_FAILED -> 417;
    };
    return new ProxyError(status, error.problem());
  }

  /** The plain-text body every engine sends with it. */
  public byte[] body() {
    return (status + " " + message + "\n").getBytes(StandardCharsets.UTF_8);
  }
}
