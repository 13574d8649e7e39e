package dev.fulcrum.nio;

/**
 * Why a client's connection was refused (its TLS handshake, its PROXY header), carried to a rate-limited log line as
 * {@link RateLimitedCounter}'s sample: no stack trace, nothing failed here.
 */
public final class Refusal extends Exception {
  public Refusal(String message) {
    super(message, null, false, false);
  }
}
