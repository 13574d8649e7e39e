package dev.fulcrum.http.h2;

/** What a peer did wrong on an HTTP/2 connection, as counted: each is answered with RST_STREAM or GOAWAY. */
public enum Violation {
  /** The first bytes were not the client preface and a SETTINGS frame. */
  BAD_PREFACE,
  /** A frame against the protocol (RFC 9113 §5.4.1): wrong stream, wrong size, wrong order. */
  PROTOCOL,
  /** A frame on a stream that was never opened. */
  IDLE_STREAM,
  /** A frame on a stream already closed. */
  CLOSED_STREAM,
  /** More streams than SETTINGS_MAX_CONCURRENT_STREAMS: refused. */
  TOO_MANY_STREAMS,
  /** Streams opened and reset by the client faster than allowed (CVE-2023-44487). */
  RAPID_RESET,
  /** SETTINGS, PING, PRIORITY, WINDOW_UPDATE or empty frames faster than allowed. */
  CONTROL_FLOOD,
  /** CONTINUATION frames beyond the header list limit or too many of them (CVE-2024-27316 class). */
  CONTINUATION_FLOOD,
  /** A header block that decodes to more than the limit, or does not decode (HPACK). */
  HPACK,
  /** Sent more than the window allowed, or grew a window past 2^31-1. */
  FLOW_CONTROL,
  /** A request with bad pseudo-headers, connection-specific fields, bad names or values (RFC 9113 §8). */
  MALFORMED_HEADERS,
  /** DATA that disagrees with the request's content-length. */
  CONTENT_LENGTH,
  /** A header list over the listener's limit: answered with 431. */
  FIELDS_TOO_LARGE,
  /** The peer does not read what it asked for (its PING or SETTINGS answers pile up). */
  OUTPUT_OVERFLOW
}
