package dev.fulcrum.http.wire;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.io.ByteArrayOutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class ProxyProtocolTest {
  private static final int AT = 3;
  private static final byte[] SIG = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

  static Stream<Arguments> headers() throws Exception {
    return Stream.of(
        Arguments.of(ascii("PROXY TCP4 203.0.113.7 10.0.0.1 56324 443\r\n"), new InetSocketAddress(InetAddress.getByName("203.0.113.7"), 56324)),
        Arguments.of(ascii("PROXY TCP6 2001:db8::1 2001:db8::2 4000 80\r\n"), new InetSocketAddress(InetAddress.getByName("2001:db8::1"), 4000)),
        Arguments.of(ascii("PROXY UNKNOWN\r\n"), null),
        Arguments.of(ascii("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n"), null),
        Arguments.of(v2(0x21, 0x11, ipv4(198, 51, 100, 9, 10, 0, 0, 1, 0x1F, 0x90, 0x00, 0x50), tlvs()),
            new InetSocketAddress(InetAddress.getByName("198.51.100.9"), 8080)),
        Arguments.of(v2(0x21, 0x21, ipv6(), new byte[0]), new InetSocketAddress(InetAddress.getByName("2001:db8::7"), 1234)),
        Arguments.of(v2(0x20, 0x00, new byte[0], new byte[0]), null));
  }

  @ParameterizedTest
  @MethodSource("headers")
  void parsedWholeByteByByteAndSplitAtEveryPosition(byte[] header, InetSocketAddress source) {
    byte[] withRequest = concat(header, ascii("GET / HTTP/1.1\r\n"));
    ByteBuffer buf = buffer(withRequest);
    ProxyProtocol.Header whole = assertInstanceOf(ProxyProtocol.Header.class, ProxyProtocol.parse(buf, AT, buf.capacity()));
    assertEquals(header.length, whole.length());
    assertEquals(source, whole.source());
    for (int end = AT; end < AT + header.length; end++) {
      assertInstanceOf(ProxyProtocol.Incomplete.class, ProxyProtocol.parse(buf, AT, end), "incomplete at " + (end - AT));
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "GET / HTTP/1.1\r\n", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",
      "PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n", "PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n", "PROXY TCP4 example.com 5.6.7.8 1 2\r\n",
      "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n", "PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n", "PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n",
      "PROXYTCP4\r\n"})
  void notAProxyHeaderIsRefused(String text) {
    ByteBuffer buf = buffer(ascii(text));
    assertInstanceOf(WireError.class, ProxyProtocol.parse(buf, AT, buf.capacity()), text);
  }

  @Test
  void aV1LineThatNeverEndsIsRefusedAtTheSpecsLimit() {
    ByteBuffer buf = buffer(ascii("PROXY TCP4 " + "1".repeat(200)));
    assertInstanceOf(WireError.class, ProxyProtocol.parse(buf, AT, buf.capacity()));
  }

  @Test
  void aV2HeaderClaimingTheLargestLengthIsIncompleteUntilItAllCame() {
    // the parser waits for what the length says (at most 16 + 65535 bytes); the listener's buffer bounds the wait
    byte[] claimed = v2(0x21, 0x11, new byte[12], new byte[0]);
    claimed[14] = (byte) 0xff;
    claimed[15] = (byte) 0xff;
    byte[] some = java.util.Arrays.copyOf(claimed, 1000);
    ByteBuffer buf = buffer(some);
    assertFalse(ProxyProtocol.parse(buf, AT, buf.capacity()) instanceof ProxyProtocol.Header);
    assertFalse(ProxyProtocol.parse(buf, AT, buf.capacity()) instanceof WireError);
  }

  @Test
  void v2WithAnotherVersionOrCommandOrShortAddressesIsRefused() {
    for (byte[] bad : new byte[][] {v2(0x31, 0x11, new byte[12], new byte[0]), v2(0x22, 0x11, new byte[12], new byte[0]),
        v2(0x21, 0x11, new byte[8], new byte[0]), v2(0x21, 0x21, new byte[12], new byte[0])}) {
      ByteBuffer buf = buffer(bad);
      assertInstanceOf(WireError.class, ProxyProtocol.parse(buf, AT, buf.capacity()));
    }
  }

  @Test
  void v2UnixAndUnspecifiedFamiliesKeepThePeersAddress() {
    ByteBuffer buf = buffer(v2(0x21, 0x31, new byte[216], new byte[0]));
    assertNull(((ProxyProtocol.Header) ProxyProtocol.parse(buf, AT, buf.capacity())).source());
  }

  @Test
  void theV1HeaderSentToBackendsParsesBack() throws Exception {
    InetSocketAddress client = new InetSocketAddress(InetAddress.getByName("192.0.2.1"), 40000);
    ByteBuffer buf = buffer(ProxyProtocol.v1(client, new InetSocketAddress(InetAddress.getByName("10.1.1.1"), 80)));
    assertEquals(client, ((ProxyProtocol.Header) ProxyProtocol.parse(buf, AT, buf.capacity())).source());
  }

  private static byte[] v2(int versionCommand, int family, byte[] addresses, byte[] tlvs) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(SIG);
    out.write(versionCommand);
    out.write(family);
    int length = addresses.length + tlvs.length;
    out.write(length >> 8);
    out.write(length & 0xFF);
    out.writeBytes(addresses);
    out.writeBytes(tlvs);
    return out.toByteArray();
  }

  private static byte[] ipv4(int... bytes) {
    byte[] out = new byte[bytes.length];
    for (int i = 0; i < bytes.length; i++) out[i] = (byte) bytes[i];
    return out;
  }

  private static byte[] ipv6() throws Exception {
    ByteBuffer b = ByteBuffer.allocate(36);
    b.put(InetAddress.getByName("2001:db8::7").getAddress()).put(InetAddress.getByName("2001:db8::8").getAddress());
    b.putShort((short) 1234).putShort((short) 443);
    return b.array();
  }

  /** ALPN "h2" and an authority TLV, as AWS and HAProxy send them. */
  private static byte[] tlvs() {
    ByteBuffer b = ByteBuffer.allocate(5 + 14);
    b.put((byte) 0x01).putShort((short) 2).put(ascii("h2"));
    b.put((byte) 0x02).putShort((short) 11).put(ascii("example.com"));
    return b.array();
  }

  private static byte[] ascii(String s) {
    return s.getBytes(ISO_8859_1);
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = new byte[a.length + b.length];
    System.arraycopy(a, 0, out, 0, a.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  private static ByteBuffer buffer(byte[] bytes) {
    ByteBuffer buf = ByteBuffer.allocateDirect(AT + bytes.length);
    buf.put(new byte[AT]).put(bytes);
    return buf;
  }
}
