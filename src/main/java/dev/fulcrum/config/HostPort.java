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
    if (host.startsWith("[") && host.endsWith("]")) host = host.substring(1, host.length() - 1);
    else if (host.contains(":")) throw new IllegalArgumentException("'" + text + "': IPv6 hosts go in brackets, as [::1]:80");
    if (host.isEmpty() || !host.matches("[A-Za-z0-9._:%-]+")) {
      throw new IllegalArgumentException("'" + text + "' has an invalid host");
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

  /**
   * The address to connect to. An IP literal is parsed here, once; a host name stays unresolved so that Pekko resolves
   * it with its asynchronous, caching DNS on connect, never blocking the caller.
   */
  public InetSocketAddress toSocketAddress() {
    return isIpLiteral() ? new InetSocketAddress(host, port) : InetSocketAddress.createUnresolved(host, port);
  }

  private boolean isIpLiteral() {
    return host.contains(":") || host.matches("\\d{1,3}(\\.\\d{1,3}){3}");
  }

  @Override
  public String toString() {
    return host.contains(":") ? "[" + host + "]:" + port : host + ":" + port;
  }
}
