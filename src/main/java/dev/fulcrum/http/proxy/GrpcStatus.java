package dev.fulcrum.http.proxy;

import java.nio.charset.StandardCharsets;

/**
 * The proxy's own answers in gRPC's terms: a gRPC client reads the status from {@code grpc-status} in an HTTP 200
 * (a "trailers-only" response), not from the HTTP status. Codes from grpc/doc/statuscodes.md.
 */
public final class GrpcStatus {
  public static final int INTERNAL = 13;
  public static final int UNAVAILABLE = 14;
  public static final int DEADLINE_EXCEEDED = 4;
  public static final int PERMISSION_DENIED = 7;
  public static final int RESOURCE_EXHAUSTED = 8;
  public static final int CANCELLED = 1;

  private GrpcStatus() {}

  /** The gRPC status for one of the proxy's answers: no route or backend is UNAVAILABLE, a timeout DEADLINE_EXCEEDED. */
  public static int of(ProxyError error) {
    return switch (error.status()) {
      case 404, 502, 503 -> UNAVAILABLE;
      case 504, 408 -> DEADLINE_EXCEEDED;
      case 403 -> PERMISSION_DENIED;
      case 413, 431 -> RESOURCE_EXHAUSTED;
      default -> INTERNAL;
    };
  }

  /** {@code grpc-message}: percent-encoded UTF-8 (gRPC's PROTOCOL-HTTP2.md), so any text survives. */
  public static String message(String text) {
    StringBuilder b = new StringBuilder(text.length());
    for (byte c : text.getBytes(StandardCharsets.UTF_8)) {
      if (c >= 0x20 && c <= 0x7e && c != '%') b.append((char) c);
      else b.append('%').append(Character.toUpperCase(Character.forDigit((c >> 4) & 0xf, 16)))
          .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
    }
    return b.toString();
  }

  /** A {@code grpc-timeout} value (RFC-like: up to 8 digits and a unit H, M, S, m, u, n) in nanoseconds, or -1. */
  public static long timeoutNanos(String value) {
    if (value == null || value.length() < 2 || value.length() > 9) return -1;
    long n = 0;
    for (int i = 0; i < value.length() - 1; i++) {
      char c = value.charAt(i);
      if (c < '0' || c > '9') return -1;
      n = n * 10 + (c - '0');
    }
    return switch (value.charAt(value.length() - 1)) {
      case 'H' -> n * 3_600_000_000_000L;
      case 'M' -> n * 60_000_000_000L;
      case 'S' -> n * 1_000_000_000L;
      case 'm' -> n * 1_000_000L;
      case 'u' -> n * 1_000L;
      case 'n' -> n;
      default -> -1;
    };
  }
}
