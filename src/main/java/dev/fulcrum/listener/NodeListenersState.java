package dev.fulcrum.listener;

import dev.fulcrum.CborSerializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** A node's listeners as its listener journal has them, in the order they came, and the journal's version. */
public record NodeListenersState(long version, List<ListenerDefinition> listeners) implements CborSerializable {
  public NodeListenersState {
    listeners = listeners == null ? List.of() : List.copyOf(listeners);
  }

  public static final NodeListenersState EMPTY = new NodeListenersState(0, List.of());

  public Optional<ListenerDefinition> listener(String name) {
    return listeners.stream().filter(l -> l.name().equals(name)).findFirst();
  }

  NodeListenersState apply(ListenerEvent event) {
    List<ListenerDefinition> next = new ArrayList<>(listeners);
    if (event instanceof ListenerEvent.ListenersSet set) {
      next = new ArrayList<>(set.listeners());
    } else if (event instanceof ListenerEvent.ListenerAdded added) {
      next.removeIf(l -> l.name().equals(added.listener().name()));
      next.add(added.listener());
    } else if (event instanceof ListenerEvent.ListenerRemoved removed) {
      next.removeIf(l -> l.name().equals(removed.name()));
    }
    return new NodeListenersState(version + 1, next);
  }
}
