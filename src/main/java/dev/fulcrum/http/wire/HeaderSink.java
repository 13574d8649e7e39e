package dev.fulcrum.http.wire;

/**
 * Where rewritten header fields go, so that one set of rules can build either engine's headers: fields kept from the
 * incoming message as they are, and new ones by name and value.
 */
public interface HeaderSink {
  /** Keeps field {@code i} of {@code in}, the message being rewritten. */
  void keep(HeaderView in, int i);

  void add(String name, String value);
}
