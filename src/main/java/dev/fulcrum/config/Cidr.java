package dev.fulcrum.config;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.regex.Pattern;

/** An IPv4 or IPv6 network ({@code 10.0.0.0/8}, {@code ::1/128}); a bare address is a network of one. */
public record Cidr(byte[] network, int prefixLength, String text) {
  private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");
  private static final Pattern IPV6 = Pattern.compile("[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*");

  public static Cidr parse(String text) {
    String s = text.trim();
    int slash = s.indexOf('/');
    String host = slash < 0 ? s : s.substring(0, slash);
    // only literals: InetAddress would otherwise resolve a name through DNS
    if (!IPV4.matcher(host).matches() && !IPV6.matcher(host).matches()) {
      throw new IllegalArgumentException("'" + text + "' is not a CIDR (an IPv4 or IPv6 address, optionally /prefix)");
    }
    byte[] address;
    try {
      address = InetAddress.getByName(host).getAddress();
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("'" + text + "' is not a valid IP address");
    }
    int max = address.length * 8;
    int prefix;
    try {
      prefix = slash < 0 ? max : Integer.parseInt(s.substring(slash + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("'" + text + "' has a prefix length that is not a number");
    }
    if (prefix < 0 || prefix > max) {
      throw new IllegalArgumentException("'" + text + "' has prefix length " + prefix + ", outside 0-" + max);
    }
    return new Cidr(address, prefix, s);
  }

  public boolean contains(InetAddress address) {
    byte[] candidate = address.getAddress();
    if (candidate.length != network.length) return false;
    int full = prefixLength / 8;
    for (int i = 0; i < full; i++) {
      if (candidate[i] != network[i]) return false;
    }
    int rest = prefixLength % 8;
    if (rest == 0) return true;
    int mask = (0xFF << (8 - rest)) & 0xFF;
    return (candidate[full] & mask) == (network[full] & mask);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Cidr c && c.text.equals(text);
  }

  @Override
  public int hashCode() {
    return text.hashCode();
  }

  @Override
  public String toString() {
    return text;
  }
}
