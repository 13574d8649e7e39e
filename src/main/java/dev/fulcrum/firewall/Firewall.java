package dev.fulcrum.firewall;

import dev.fulcrum.config.Cidr;
import dev.fulcrum.config.FirewallSettings;
import java.net.InetAddress;
import java.util.List;
import java.util.StringJoiner;
import java.util.regex.Pattern;

/** A compiled {@link FirewallSettings}: CIDR lists for the client address, glob lists for the request path. */
public final class Firewall {
  public static final Firewall OPEN = new Firewall(FirewallSettings.OPEN);

  private final Cidr[] allow;
  private final Cidr[] deny;
  private final Pattern[] allowPaths;
  private final Pattern[] denyPaths;
  private final boolean open;

  public Firewall(FirewallSettings settings) {
    this.allow = settings.allow().toArray(Cidr[]::new);
    this.deny = settings.deny().toArray(Cidr[]::new);
    this.allowPaths = globs(settings.allowPaths());
    this.denyPaths = globs(settings.denyPaths());
    this.open = settings.isOpen();
  }

  /** For a TCP connection: the address lists alone (a TCP listener's firewall has no paths). */
  public boolean permits(InetAddress client) {
    if (open) return true;
    if (allow.length > 0 && !anyContains(allow, client)) return false;
    return !anyContains(deny, client);
  }

  public boolean permits(InetAddress client, String path) {
    if (!permits(client)) return false;
    if (allowPaths.length > 0 && !anyMatches(allowPaths, path)) return false;
    return !anyMatches(denyPaths, path);
  }

  private static boolean anyContains(Cidr[] cidrs, InetAddress client) {
    for (Cidr cidr : cidrs) {
      if (cidr.contains(client)) return true;
    }
    return false;
  }

  private static boolean anyMatches(Pattern[] patterns, String path) {
    for (Pattern p : patterns) {
      if (p.matcher(path).matches()) return true;
    }
    return false;
  }

  private static Pattern[] globs(List<String> globs) {
    return globs.stream().map(Firewall::glob).toArray(Pattern[]::new);
  }

  private static Pattern glob(String glob) {
    StringJoiner regex = new StringJoiner(".*");
    for (String literal : glob.split("\\*", -1)) regex.add(literal.isEmpty() ? "" : Pattern.quote(literal));
    return Pattern.compile(regex.toString(), Pattern.DOTALL);
  }
}
