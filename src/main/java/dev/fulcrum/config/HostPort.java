package dev.fulcrum.config;

import java.net.InetSocketAddress;

/** A literal host and port, as written in config and in the admin API ({@code 127.0.0.1:9001}, {@code [::1]:80}). */
public record HostPort(String host, int port) {

  public HostPort {
    if (host == null || host.isBlank()) throw new IllegalArgumentException("host is empty");
    if (port < 0 || port > 65535) throw new IllegalArgumentException("port " + port + " is out of range 0-65535");
  }

  /**
   * Parses {@code host:port}; IPv6 literals go in brackets. Port 0 (any free port) is allowed only where
   * {@code allowAnyPort} says so, i.e. for addresses we bind, never for backends we connect to.
   */
  public static HostPort parse(String text, boolean allowAnyPort) {
    if (text == null) throw new IllegalArgumentException("address is missing");
    String s = text.trim();
    int colon = s.lastIndexOf(':');
    if (colon <= 0 || colon == s.length() - 1) {
      throw new IllegalArgumentException("'" + text + "' is not host:port");
    }
    String host = s.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
      ipv6Problem(host).ifPresent(problem -> {
        throw new IllegalArgumentException("'" + text + "': " + problem);
      });
    } else if (host.contains(":") || host.contains("[") || host.contains("]")) {
      throw new IllegalArgumentException("'" + text + "': IPv6 hosts go in brackets, as [::1]:80");
    } else {
      String name = host;
      hostProblem(name).ifPresent(problem -> {
        throw new IllegalArgumentException("'" + text + "': " + problem);
      });
    }
    int port;
    try {
      port = Integer.parseInt(s.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("'" + text + "' has a port that is not a number");
    }
    int min = allowAnyPort ? 0 : 1;
    if (port < min || port > 65535) {
      throw new IllegalArgumentException("'" + text + "' has port " + port + ", outside " + min + "-65535");
    }
    return new HostPort(host, port);
  }

  /** Why {@code host} is neither an IPv4 address nor a host name as RFC 1123 allows, if it is not. */
  static java.util.Optional<String> hostProblem(String host) {
    if (host.isEmpty()) return java.util.Optional.of("the host is empty");
    if (host.matches("[0-9.]+")) {
      String[] octets = host.split("\\.", -1);
      boolean valid = octets.length == 4;
      for (String octet : octets) valid &= !octet.isEmpty() && octet.length() <= 3 && Integer.parseInt(octet) <= 255;
      return valid ? java.util.Optional.empty() : java.util.Optional.of("'" + host + "' is not an IPv4 address (four numbers 0-255)");
    }
    if (host.length() > 253) return java.util.Optional.of("the host name has " + host.length() + " characters, more than 253");
    for (String label : host.split("\\.", -1)) {
      if (label.isEmpty()) return java.util.Optional.of("the host name '" + host + "' has an empty label");
      if (label.length() > 63) return java.util.Optional.of("the host name label '" + label + "' has " + label.length() + " characters, more than 63");
      // '_' is not in RFC 1123 host names but is valid DNS (SRV owners such as _http._tcp) and common in Docker and
      // Compose service names; HAProxy and nginx accept it in server addresses, so we do too.
      if (!label.matches("[A-Za-z0-9_-]+")) {
        return java.util.Optional.of("the host name label '" + label + "' may hold only letters, digits, '-' and '_'");
      }
      if (label.startsWith("-") || label.endsWith("-")) {
        return java.util.Optional.of("the host name label '" + label + "' starts or ends with '-'");
      }
    }
    return java.util.Optional.empty();
  }

  /** Why {@code host} (without its brackets) is not an IPv6 address, if it is not. */
  static java.util.Optional<String> ipv6Problem(String host) {
    String address = host.contains("%") ? host.substring(0, host.indexOf('%')) : host;
    java.util.Optional<String> bad = java.util.Optional.of("'[" + host + "]' is not an IPv6 address");
    if (!address.contains(":") || !address.matches("[0-9A-Fa-f:.]+")) return bad;
    if (host.contains("%") && !host.substring(host.indexOf('%') + 1).matches("[A-Za-z0-9._-]+")) return bad;
    int doubleColon = address.indexOf("::");
    if (doubleColon >= 0 && address.indexOf("::", doubleColon + 1) >= 0) return bad;
    String[] groups = address.split(":", -1);
    int count = 0;
    for (int i = 0; i < groups.length; i++) {
      String g = groups[i];
      if (g.isEmpty()) continue; // part of "::" (checked above to occur once), or at either end next to it
      if (g.contains(".")) {
        if (i != groups.length - 1 || hostProblem(g).isPresent() || !g.matches("[0-9.]+")) return bad;
        count += 2;
      } else {
        if (g.length() > 4 || !g.matches("[0-9A-Fa-f]+")) return bad;
        count++;
      }
    }
    if (doubleColon < 0 && (count != 8 || address.startsWith(":") || address.endsWith(":"))) return bad;
    if (doubleColon >= 0 && count > 7) return bad;
    if (doubleColon != 0 && address.startsWith(":")) return bad;
    if (doubleColon != address.length() - 2 && address.endsWith(":")) return bad;
    return java.util.Optional.empty();
  }

  /**
   * The address to connect to. An IP literal is parsed here, once; a host name stays unresolved so that Pekko resolves
   * it with its asynchronous, caching DNS on connect, never blocking the caller.
   */
  public InetSocketAddress toSocketAddress() {
    return isIpLiteral() ? new InetSocketAddress(host, port) : InetSocketAddress.createUnresolved(host, port);
  }

  /** Whether the host is an IPv4 or IPv6 address rather than a name to look up. */
  public boolean isIpLiteral() {
    return host.indexOf(':') >= 0 || isDottedQuad(host);
  }

  /**
   * Four groups of one to three digits: what {@code \\d{1,3}(\\.\\d{1,3}){3}} matches, without compiling that pattern on
   * every call (a pool router asks for each backend on each publish: a thousand backends coming up made that O(n^2)
   * pattern compilations, seconds of CPU).
   */
  private static boolean isDottedQuad(String host) {
    int groups = 0;
    int digits = 0;
    for (int i = 0; i < host.length(); i++) {
      char c = host.charAt(i);
      if (c >= '0' && c <= '9') {
        if (++digits > 3) return false;
      } else if (c == '.') {
        if (digits == 0 || ++groups > 3) return false;
        digits = 0;
      } else {
        return false;
      }
    }
    return groups == 3 && digits > 0;
  }

  @Override
  public String toString() {
    return host.contains(":") ? "[" + host + "]:" + port : host + ":" + port;
  }
}
