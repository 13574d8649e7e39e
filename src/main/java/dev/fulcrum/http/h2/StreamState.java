package dev.fulcrum.http.h2;

/** RFC 9113 §5.1 without the reserved states (Fulcrum never pushes). Idle streams have no object. */
enum StreamState {
  OPEN,
  /** The peer ended its side (END_STREAM received); Fulcrum still sends. */
  HALF_CLOSED_REMOTE,
  /** Fulcrum ended its side; the peer still sends. */
  HALF_CLOSED_LOCAL,
  CLOSED;

  StreamState remoteEnded() {
    return this == OPEN ? HALF_CLOSED_REMOTE : CLOSED;
  }

  StreamState localEnded() {
    return this == OPEN ? HALF_CLOSED_LOCAL : CLOSED;
  }

  boolean remoteOpen() {
    return this == OPEN || this == HALF_CLOSED_LOCAL;
  }

  boolean localOpen() {
    return this == OPEN || this == HALF_CLOSED_REMOTE;
  }
}
