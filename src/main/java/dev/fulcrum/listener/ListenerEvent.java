package dev.fulcrum.listener;

import dev.fulcrum.CborSerializable;
import java.time.Instant;
import java.util.List;

/**
 * What happened to a node's set of listeners, in its listener journal, with when and where from ({@code origin}:
 * "config", "admin-api 127.0.0.1", "java-api"). Renaming or removing a field breaks recovery: add fields only with a
 * default.
 */
public sealed interface ListenerEvent extends CborSerializable {
  Instant timestamp();

  String origin();

  /** The whole set at once: the config's listeners as the first state, or the config applied with bootstrap = config. */
  record ListenersSet(List<ListenerDefinition> listeners, Instant timestamp, String origin) implements ListenerEvent {}

  record ListenerAdded(ListenerDefinition listener, Instant timestamp, String origin) implements ListenerEvent {}

  record ListenerRemoved(String name, Instant timestamp, String origin) implements ListenerEvent {}
}
