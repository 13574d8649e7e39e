package dev.fulcrum.observe;

import dev.fulcrum.config.HostPort;

/**
 * One access-log line's values, in a slot of the {@link AccessRing} that is filled on the event loop. Slots are
 * allocated once with the ring and reused; the references they hold are objects the request had anyway (its method,
 * target and client address strings, the route's names, the backend's address). The text format turns them into the
 * slot's {@link #line} on the event loop, where they are still in the core's cache, and drops them
 * ({@link LineFormat#prepare}); the writer thread then only adds the time and copies the bytes. Times are in
 * nanoseconds, -1 when the phase did not happen.
 */
final class AccessRecord {
  static final int HTTP = 0;
  static final int TCP = 1;
  /** A slot's line buffer: a line with a short path fits; a longer one grows it on the event loop. */
  private static final int LINE_BYTES = 256;
  /** A buffer grown past this (a long path or request id) is given back when the slot is released. */
  private static final int LINE_BYTES_KEPT = 2048;

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
  /** The line without its time, when the format makes it before the slot is published (empty otherwise). */
  final LineBuffer line = new LineBuffer(LINE_BYTES);

  AccessRecord(int index) {
    this.index = index;
  }

  /** Drops the references, so that a quiet ring keeps no request's strings alive. */
  void clear() {
    clientIp = listener = route = pool = method = target = protocol = requestId = termination = null;
    backend = null;
  }

  /** The slot is free again: forgets its values and gives back a line buffer a long line grew. */
  void release() {
    clear();
    line.length = 0;
    if (line.bytes.length > LINE_BYTES_KEPT) line.bytes = new byte[LINE_BYTES];
  }
}
