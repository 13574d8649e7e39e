package dev.fulcrum.http.wire;

/**
 * The header fields of one message as the proxy's rules read them, whatever engine parsed them: names as sent, values
 * trimmed, in the order received. The nio engine's {@link HeaderFields} is one; the Pekko engine adapts its model.
 */
public interface HeaderView {
  int size();

  String name(int i);

  String value(int i);

  /** The first value of the named field (case-insensitive), or null. */
  default String get(String name) {
    for (int i = 0; i < size(); i++) {
      if (name(i).equalsIgnoreCase(name)) return value(i);
    }
    return null;
  }
}
