package dev.fulcrum.http.proxy;

/**
 * What an HTTP listener tells the node's metrics and access log: its connections opening and closing, and each request
 * as it ends. Implementations count with lock-free adders and queue access-log lines without waiting.
 */
public interface ListenerObserver extends ExchangeLog.Observer {
  void connectionOpened();

  void connectionClosed();

  /** A client broke HTTP/2's rules or limits ({@code kind}: rapid_reset, control_flood, ...): counted. */
  default void http2Violation(String kind) {}

  /**
   * A client's TLS handshake was refused or timed out (counted as TCP listeners count theirs, {@code termination =
   * tls-refused}); from the engine's thread, so it must only count.
   */
  default void tlsRefused() {}

  /**
   * A client's connection was closed for its PROXY header: from an untrusted peer, missing, malformed, truncated or
   * never finished ({@code termination = proxy-refused}, as TCP listeners count theirs); it must only count.
   */
  default void proxyRefused() {}

  /** The listener's retry budget, whose refusals are read when scraped. */
  default void retryBudget(RetryBudget budget) {}

  /** Observes nothing (tests that start an engine on its own). */
  ListenerObserver NONE = new ListenerObserver() {
    @Override
    public void connectionOpened() {}

    @Override
    public void connectionClosed() {}

    @Override
    public void ended(ExchangeLog log) {}
  };
}
