package dev.fulcrum.tls;

/** A certificate, key or trust file that cannot be used, with a message naming the file and what is wrong. */
public final class TlsException extends Exception {
  public TlsException(String message) {
    super(message, null, false, false);
  }
}
