package dev.fulcrum.observe;

import dev.fulcrum.config.HostPort;

/**
 * One access-log line's values, in a slot of the {@link AccessRing} that is filled on the event loop and formatted by
 * the writer thread. Slots are allocated once with the ring and reused; the references they hold are objects the
 * request had anyway (its method, target and client address strings, the route's names, the backend's address).
 * Times are in nanoseconds, -1 when the phase did not happen.
 */
final class AccessRecord {
  static final int HTTP = 0;
  static final int TCP = 1;

  final int index;
  /** The ring position it was claimed at. */
  long position;
  int kind;
  /** {@code System.nanoTime()} when it ended; the writer turns it into wall-clock time. */
  long ended;
  long total;
  String clientIp;
  int clientPort;
  String listener;
  String route;
  String pool;
  HostPort backend;
  String method;
  String target;
  /** The client side's protocol: HTTP/1.0, HTTP/1.1, HTTP/2. */
  String protocol;
  String requestId;
  int status;
  long bytesIn;
  long bytesOut;
  long headRead;
  long queued;
  long connect;
  long response;
  int retries;
  String termination;

  AccessRecord(int index) {
    this.index = index;
  }

  /** Drops the references once written, so that a quiet ring keeps no request's strings alive. */
  void clear() {
    clientIp = listener = route = pool = method = target = protocol = requestId = termination = null;
    backend = null;
  }
}
