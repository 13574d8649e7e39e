package dev.fulcrum.events;

import dev.fulcrum.config.HttpRouteSettings;
import dev.fulcrum.routes.RuntimeChange;
import java.time.Instant;
import java.util.stream.Collectors;

/** This node's runtime notices (route tables it routes by, listeners added, draining, removed) as hub events. */
public final class RuntimeEvents {
  private RuntimeEvents() {}

  public static FulcrumEvent of(RuntimeChange change) {
    Instant now = Instant.now();
    if (change instanceof RuntimeChange.RouteTableChanged t) {
      // the origin of the change that made this version (changes that replication folded into one: the last one's)
      return new FulcrumEvent.RouteChanged(t.listener(), t.state().version(),
          t.previousVersion() == 0 ? "table-created" : "table-changed",
          t.state().routes().stream().map(HttpRouteSettings::name).collect(Collectors.joining(", ")), t.state().origin(), 0, now);
    }
    RuntimeChange.ListenerChanged l = (RuntimeChange.ListenerChanged) change;
    String where = l.address() == null ? "" : " " + l.address().getAddress().getHostAddress() + ":" + l.address().getPort();
    return new FulcrumEvent.ListenerChanged(l.listener(), 0, l.kind().name().toLowerCase(java.util.Locale.ROOT).replace('_', '-'),
        l.protocol() + where + (l.detail().isEmpty() ? "" : ": " + l.detail()), l.origin(), 0, now);
  }
}
