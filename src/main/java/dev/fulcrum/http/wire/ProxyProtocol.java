package dev.fulcrum.http.wire;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * The PROXY protocol header (HAProxy's spec, v1 text and v2 binary) that a balancer in front sends before the
 * client's bytes to say who the client is. Parsed from a connection's buffer with absolute indices, like the heads:
 * strict, bounded (v1 at most 107 bytes, v2 at most 16 + 65535), TLVs skipped safely. No I/O.
 */
public final class ProxyProtocol {
  private static final byte[] V2_SIGNATURE = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
  private static final int V1_MAX = 107;

  private ProxyProtocol() {}

  /** What parsing gives: a header, not enough bytes yet, or bytes that are not a PROXY header. */
  public sealed interface Parsed permits Header, Incomplete, WireError {}

  /** What a complete header says: the client's address (null for LOCAL / UNKNOWN: keep the peer's), and its length. */
  public record Header(InetSocketAddress source, int length) implements Parsed {}

  /** Not enough bytes yet to tell. */
  public record Incomplete() implements Parsed {}

  private static final Incomplete INCOMPLETE = new Incomplete();

  /**
   * The header at buf[from, limit): a {@link Header}, {@link Incomplete}, or a {@link WireError} when the bytes are
   * not a PROXY header (a client that was to come through a balancer, or one pretending).
   */
  public static Parsed parse(ByteBuffer buf, int from, int limit) {
    int available = limit - from;
    if (available == 0) return INCOMPLETE;
    if (buf.get(from) == 'P') return v1(buf, from, limit);
    if (buf.get(from) == 0x0D) return v2(buf, from, limit);
    return WireError.malformed("no PROXY protocol header");
  }

  private static Parsed v1(ByteBuffer buf, int from, int limit) {
    String prefix = "PROXY ";
    for (int i = 0; i < prefix.length(); i++) {
      if (from + i >= limit) return INCOMPLETE;
      if (buf.get(from + i) != prefix.charAt(i)) return WireError.malformed("no PROXY protocol header");
    }
    int end = -1;
    for (int i = from; i < limit && i < from + V1_MAX; i++) {
      if (buf.get(i) == '\n') {
        end = i;
        break;
      }
    }
    if (end < 0) {
      return limit - from >= V1_MAX ? WireError.malformed("PROXY v1 header longer than 107 bytes") : INCOMPLETE;
    }
    if (end == from || buf.get(end - 1) != '\r') return WireError.malformed("PROXY v1 header not ended by CRLF");
    byte[] line = new byte[end - 1 - from];
    buf.get(from, line);
    String[] parts = new String(line, StandardCharsets.US_ASCII).split(" ", -1);
    int length = end + 1 - from;
    if (parts.length >= 2 && parts[1].equals("UNKNOWN")) return new Header(null, length);
    if (parts.length != 6 || !(parts[1].equals("TCP4") || parts[1].equals("TCP6"))) {
      return WireError.malformed("malformed PROXY v1 header");
    }
    InetAddress address = literal(parts[2], parts[1].equals("TCP4") ? 4 : 16);
    int port = port(parts[4]);
    if (address == null || literal(parts[3], parts[1].equals("TCP4") ? 4 : 16) == null || port < 0 || port(parts[5]) < 0) {
      return WireError.malformed("malformed address in PROXY v1 header");
    }
    return new Header(new InetSocketAddress(address, port), length);
  }

  private static Parsed v2(ByteBuffer buf, int from, int limit) {
    for (int i = 0; i < V2_SIGNATURE.length; i++) {
      if (from + i >= limit) return INCOMPLETE;
      if (buf.get(from + i) != V2_SIGNATURE[i]) return WireError.malformed("no PROXY protocol header");
    }
    if (limit - from < 16) return INCOMPLETE;
    int versionCommand = buf.get(from + 12) & 0xFF;
    if (versionCommand >> 4 != 2) return WireError.malformed("PROXY v2 header of an unknown version");
    int command = versionCommand & 0x0F;
    int family = buf.get(from + 13) & 0xFF;
    int payload = ((buf.get(from + 14) & 0xFF) << 8) | (buf.get(from + 15) & 0xFF);
    int length = 16 + payload;
    if (limit - from < length) return INCOMPLETE;
    if (command == 0) return new Header(null, length); // LOCAL: a health check of the balancer itself
    if (command != 1) return WireError.malformed("PROXY v2 header with an unknown command");
    int at = from + 16;
    // TLVs after the addresses (ALPN, authority, SSL) are within the payload length and skipped with it
    switch (family) {
      case 0x11 -> { // TCP over IPv4
        if (payload < 12) return WireError.malformed("PROXY v2 header too short for IPv4 addresses");
        return new Header(new InetSocketAddress(address(buf, at, 4), port(buf, at + 8)), length);
      }
      case 0x21 -> { // TCP over IPv6
        if (payload < 36) return WireError.malformed("PROXY v2 header too short for IPv6 addresses");
        return new Header(new InetSocketAddress(address(buf, at, 16), port(buf, at + 32)), length);
      }
      default -> {
        return new Header(null, length); // UNSPEC or UNIX: nothing to say about an IP client
      }
    }
  }

  /** The header a backend expects first: v2 binary when {@code binary}, else v1 text. */
  public static byte[] header(boolean binary, InetSocketAddress client, InetSocketAddress server) {
    return binary ? v2(client, server) : v1(client, server);
  }

  /** A v2 header (PROXY command, TCP over IPv4 or IPv6) naming {@code client} talking to {@code server}. */
  public static byte[] v2(InetSocketAddress client, InetSocketAddress server) {
    byte[] from = client.getAddress().getAddress();
    byte[] to = server.getAddress().getAddress();
    if (from.length != to.length) to = from.length == 4 ? new byte[4] : new byte[16]; // a family each: say "any"
    ByteBuffer b = ByteBuffer.allocate(16 + 2 * from.length + 4);
    b.put(V2_SIGNATURE).put((byte) 0x21).put((byte) (from.length == 4 ? 0x11 : 0x21));
    b.putShort((short) (2 * from.length + 4)).put(from).put(to);
    b.putShort((short) client.getPort()).putShort((short) server.getPort());
    return b.array();
  }

  /** A v1 header naming {@code client} talking to {@code server}, for a backend that expects one. */
  public static byte[] v1(InetSocketAddress client, InetSocketAddress server) {
    String family = client.getAddress().getAddress().length == 4 ? "TCP4" : "TCP6";
    return ("PROXY " + family + " " + client.getAddress().getHostAddress() + " " + server.getAddress().getHostAddress()
        + " " + client.getPort() + " " + server.getPort() + "\r\n").getBytes(StandardCharsets.US_ASCII);
  }

  private static InetAddress address(ByteBuffer buf, int at, int size) {
    byte[] bytes = new byte[size];
    buf.get(at, bytes);
    try {
      return InetAddress.getByAddress(bytes);
    } catch (UnknownHostException e) {
      throw new IllegalStateException(e); // a 4- or 16-byte array is always an address
    }
  }

  private static int port(ByteBuffer buf, int at) {
    return ((buf.get(at) & 0xFF) << 8) | (buf.get(at + 1) & 0xFF);
  }

  private static int port(String text) {
    if (text.isEmpty() || text.length() > 5 || (text.length() > 1 && text.charAt(0) == '0')) return -1;
    for (int i = 0; i < text.length(); i++) if (text.charAt(i) < '0' || text.charAt(i) > '9') return -1;
    int port = Integer.parseInt(text);
    return port <= 65535 ? port : -1;
  }

  /** An IP literal of the given size, never a name lookup. */
  private static InetAddress literal(String text, int size) {
    if (size == 4 && !text.matches("(\\d{1,3}\\.){3}\\d{1,3}")) return null;
    if (size == 16 && (!text.contains(":") || !text.matches("[0-9a-fA-F:.]+"))) return null;
    try {
      InetAddress address = InetAddress.getByName(text);
      return address.getAddress().length == size ? address : null;
    } catch (UnknownHostException e) {
      return null;
    }
  }
}
