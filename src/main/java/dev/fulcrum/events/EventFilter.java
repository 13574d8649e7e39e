package dev.fulcrum.events;

import dev.fulcrum.config.SettingsParser;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Which events a subscriber wants: of these kinds (none given: all), and of events about a pool, only those about these
 * pools (none given: all). Events about no pool (membership, listeners) pass the pool filter. A subscriber is always told
 * of its own dropped events.
 */
public record EventFilter(Set<FulcrumEvent.Kind> kinds, Set<String> pools) {
  public static final EventFilter ALL = new EventFilter(Set.of(), Set.of());

  public EventFilter {
    kinds = kinds.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(kinds));
    pools = Set.copyOf(pools);
  }

  public static EventFilter kinds(FulcrumEvent.Kind first, FulcrumEvent.Kind... more) {
    return new EventFilter(EnumSet.of(first, more), Set.of());
  }

  public EventFilter withPools(String... names) {
    return new EventFilter(kinds, Set.of(names));
  }

  /** Whether some event of this kind can pass (the pool filter aside). */
  public boolean wantsKind(FulcrumEvent.Kind kind) {
    return kinds.isEmpty() || kinds.contains(kind);
  }

  public boolean matches(FulcrumEvent event) {
    if (event.kind() == FulcrumEvent.Kind.EVENTS_DROPPED || event.kind() == FulcrumEvent.Kind.SNAPSHOT_END) return true;
    if (!kinds.isEmpty() && !kinds.contains(event.kind())) return false;
    return pools.isEmpty() || event.pool() == null || pools.contains(event.pool());
  }

  /**
   * The filter of comma-separated lists, as given in {@code GET /api/events?kinds=...&pools=...} (empty or absent: no
   * restriction), or the problem, naming the parameter.
   */
  public static Parsed parse(Optional<String> kinds, Optional<String> pools) {
    Set<FulcrumEvent.Kind> wanted = EnumSet.noneOf(FulcrumEvent.Kind.class);
    for (String label : items(kinds)) {
      FulcrumEvent.Kind kind = FulcrumEvent.Kind.byLabel(label);
      if (kind == null || !kind.published()) {
        List<String> known = new ArrayList<>();
        for (FulcrumEvent.Kind k : FulcrumEvent.Kind.values()) if (k.published()) known.add(k.label());
        return new Parsed(null, "query parameter 'kinds': unknown kind '" + label + "' (known: " + String.join(", ", known) + ")");
      }
      wanted.add(kind);
    }
    // a pool that does not exist (yet) is a fair filter: pools come and go at runtime, and a subscriber may wait for
    // one's creation; a name no pool can have is a mistake, which would filter out every pool's events without a word
    Set<String> named = new LinkedHashSet<>();
    for (String pool : items(pools)) {
      try {
        named.add(SettingsParser.checkName(pool));
      } catch (IllegalArgumentException e) {
        return new Parsed(null, "query parameter 'pools': " + e.getMessage());
      }
    }
    return new Parsed(new EventFilter(wanted, named), null);
  }

  /** A parsed filter, or why it could not be parsed. */
  public record Parsed(EventFilter filter, String problem) {}

  private static List<String> items(Optional<String> list) {
    List<String> items = new ArrayList<>();
    list.ifPresent(l -> {
      for (String item : l.split(",")) if (!item.isBlank()) items.add(item.strip());
    });
    return items;
  }
}
