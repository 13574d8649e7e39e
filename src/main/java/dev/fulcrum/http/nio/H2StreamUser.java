package dev.fulcrum.http.nio;

import dev.fulcrum.http.wire.HeaderFields;

/**
 * What an {@link H2ClientSession} asks of the exchange of one client stream, whichever protocol its backend speaks:
 * {@link H2Exchange} to HTTP/1.1 backends, {@link H2ToH2Exchange} to HTTP/2 ones.
 */
interface H2StreamUser {
  int streamId();

  /** Starts the first attempt; false (and nothing started) when the route's pool has no eligible backend. */
  boolean start();

  void requestBodyArrived();

  void requestTrailers(HeaderFields trailers);

  /** The stream's window opened, or the client's output drained. */
  void clientWritable();

  /** The client reset the stream: the backend's request ends too. */
  void cancelled();

  void sweep(long now);

  /** Ends everything at once (the client connection closed). */
  void abort();
}
