package dev.fulcrum.observe;

import dev.fulcrum.config.HostPort;

/**
 * One access-log line's values, filled on the thread that served the request (each such thread has one, in its
 * {@link LineRing}) and turned at once into the line's bytes, there, where the request's strings are still in the
 * core's cache; then it drops them. The references it holds are objects the request had anyway (its method, target
 * and client address strings, the route's names, the backend's address). Times are in nanoseconds, -1 when the phase
 * did not happen.
 */
final class AccessRecord {
  static final int HTTP = 0;
  static final int TCP = 1;

  /** The ring its line goes to (null for a record of a test). */
  final LineRing ring;
  int kind;
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

  AccessRecord(LineRing ring) {
    this.ring = ring;
  }

  /** Drops the references, so that a quiet thread keeps no request's strings alive. */
  void clear() {
    clientIp = listener = route = pool = method = target = protocol = requestId = termination = null;
    backend = null;
  }
}
