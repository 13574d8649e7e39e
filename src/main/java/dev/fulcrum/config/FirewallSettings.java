package dev.fulcrum.config;

import java.util.List;

/**
 * Who and what may pass: a client must match {@code allow} (when not empty) and no {@code deny} CIDR; the request path
 * must match an {@code allowPaths} pattern (when not empty) and no {@code denyPaths} one. Patterns are globs where
 * {@code *} matches any characters, '/' included.
 */
public record FirewallSettings(List<Cidr> allow, List<Cidr> deny, List<String> allowPaths, List<String> denyPaths) {
  public FirewallSettings {
    allow = List.copyOf(allow);
    deny = List.copyOf(deny);
    allowPaths = List.copyOf(allowPaths);
    denyPaths = List.copyOf(denyPaths);
  }

  public static final FirewallSettings OPEN = new FirewallSettings(List.of(), List.of(), List.of(), List.of());

  public boolean isOpen() {
    return allow.isEmpty() && deny.isEmpty() && allowPaths.isEmpty() && denyPaths.isEmpty();
  }
}
