package dev.fulcrum.discovery;

import dev.fulcrum.config.DiscoverySettings.DnsName;
import dev.fulcrum.config.HostPort;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * What a pool must change to match what DNS says now: pure, so that every rule of it is tested without a socket.
 *
 * <ul>
 *   <li>An address that a name's last good answer has and the pool does not is added, with the name's weight, once
 *       (also when two names give it).
 *   <li>A backend that a name added earlier ({@code discovered}: address to the name it came from) is removed when that
 *       name's last good answer no longer has it, unless another name's answer does; also when its name is no longer
 *       followed at all.
 *   <li>A name without a good answer (it failed, or never resolved since this node follows it) changes nothing: its
 *       backends stay as they are, whatever else happens.
 *   <li>Backends that no name added (from config or the admin API) are never touched, and an address already in the
 *       pool is not added again, whoever put it there.
 * </ul>
 */
public final class RecordDiff {
  private RecordDiff() {}

  /** One change to the pool, with the name ({@link DnsName#source()}) it comes from. */
  public sealed interface Change {
    HostPort address();

    String source();
  }

  public record Add(HostPort address, int weight, String source) implements Change {}

  public record Remove(HostPort address, String source) implements Change {}

  /**
   * @param names the names the pool follows
   * @param answers each name's last good answer, by {@link DnsName#source()}; a name without one is absent
   * @param backends every backend address the pool has now
   * @param discovered the pool's backends that a name added, and which name
   * @return removals first (a pool never holds old and new at once for longer than needed), then additions
   */
  public static List<Change> between(
      List<DnsName> names, Map<String, Set<HostPort>> answers, Set<HostPort> backends, Map<HostPort, String> discovered) {
    Set<String> followed = new HashSet<>();
    names.forEach(n -> followed.add(n.source()));
    Set<HostPort> wanted = new HashSet<>();
    for (DnsName name : names) {
      Set<HostPort> answer = answers.get(name.source());
      if (answer != null) wanted.addAll(answer);
    }
    List<Change> changes = new ArrayList<>();
    for (Map.Entry<HostPort, String> d : discovered.entrySet()) {
      String source = d.getValue();
      boolean unfollowed = !followed.contains(source);
      boolean gone = answers.containsKey(source) && !wanted.contains(d.getKey());
      if ((unfollowed && !wanted.contains(d.getKey())) || gone) changes.add(new Remove(d.getKey(), source));
    }
    Set<HostPort> adding = new LinkedHashSet<>();
    for (DnsName name : names) {
      Set<HostPort> answer = answers.get(name.source());
      if (answer == null) continue;
      for (HostPort address : sorted(answer)) {
        if (!backends.contains(address) && adding.add(address)) changes.add(new Add(address, name.weight(), name.source()));
      }
    }
    return changes;
  }

  /** Additions in a stable order, so that the journal reads the same for the same answer. */
  private static List<HostPort> sorted(Set<HostPort> addresses) {
    List<HostPort> list = new ArrayList<>(addresses);
    list.sort(java.util.Comparator.comparing(HostPort::toString));
    return list;
  }

  /** The name a change's origin names: {@code dns web.internal:8080} gives {@code web.internal:8080}. */
  public static Optional<String> sourceOf(String origin) {
    return origin != null && origin.startsWith(ORIGIN + " ") ? Optional.of(origin.substring(ORIGIN.length() + 1)) : Optional.empty();
  }

  /** The origin of the pool changes DNS makes, followed by the name: {@code dns web.internal:8080}. */
  public static final String ORIGIN = "dns";

  public static String originOf(String source) {
    return ORIGIN + " " + source;
  }
}
