package dev.fulcrum.http.nio;

/**
 * What a {@link ClientConnection} asks of the exchange of its current HTTP/1.1 request, whichever protocol its
 * backend speaks: {@link Exchange} to HTTP/1.1 backends, {@link H1ToH2Exchange} to HTTP/2 ones.
 */
interface ClientExchange {
  /** Starts the first attempt; false (and nothing started) when the route's pool has no eligible backend. */
  boolean start();

  /** The client sent bytes or closed. */
  void clientReadable();

  void clientWritable();

  /** Whether the client's socket is to be watched for room to write. */
  boolean wantsClientWrite();

  /** Checks the exchange's timeouts; called on every sweep of the client. */
  void sweep(long now);

  /** Ends everything at once, e.g. because the client connection closed. */
  void abort();
}
