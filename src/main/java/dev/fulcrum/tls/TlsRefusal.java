package dev.fulcrum.tls;

/** Why a client's TLS handshake was refused, carried to a rate-limited log line: no stack trace, nothing failed here. */
public final class TlsRefusal extends Exception {
  public TlsRefusal(String message) {
    super(message, null, false, false);
  }
}
