package dev.fulcrum.testing;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/** JSSE clients for tests: trusting exactly the given PEM certificate, as curl --cacert does. */
public final class TlsClients {
  private TlsClients() {}

  public static SSLContext trusting(Path pem) {
    try (InputStream in = Files.newInputStream(pem)) {
      KeyStore store = KeyStore.getInstance("PKCS12");
      store.load(null, null);
      int i = 0;
      for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) store.setCertificateEntry("c" + i++, c);
      TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      trust.init(store);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, trust.getTrustManagers(), null);
      return context;
    } catch (IOException | java.security.GeneralSecurityException e) {
      throw new AssertionError("cannot trust " + pem + ": " + e, e);
    }
  }

  /** A server context with NAME.pem and NAME.key of {@code dir} (made by {@link TestCertificates}), via PKCS#12. */
  public static SSLContext server(Path dir, String name) {
    Path p12 = dir.resolve(name + ".p12");
    TestCertificates.run(List.of("openssl", "pkcs12", "-export", "-in", dir.resolve(name + ".pem").toString(),
        "-inkey", dir.resolve(name + ".key").toString(), "-out", p12.toString(), "-passout", "pass:secret"));
    try (InputStream in = Files.newInputStream(p12)) {
      KeyStore store = KeyStore.getInstance("PKCS12");
      store.load(in, "secret".toCharArray());
      javax.net.ssl.KeyManagerFactory keys =
          javax.net.ssl.KeyManagerFactory.getInstance(javax.net.ssl.KeyManagerFactory.getDefaultAlgorithm());
      keys.init(store, "secret".toCharArray());
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(keys.getKeyManagers(), null, null);
      return context;
    } catch (IOException | java.security.GeneralSecurityException e) {
      throw new AssertionError("cannot load " + p12 + ": " + e, e);
    }
  }

  /** A TLS socket to 127.0.0.1:port that checks the server's certificate against {@code pem} and its name {@code host}. */
  public static SSLSocket connect(Path pem, int port, String host) throws IOException {
    SSLSocket socket = (SSLSocket) trusting(pem).getSocketFactory().createSocket("127.0.0.1", port);
    socket.setSoTimeout(10_000);
    SSLParameters parameters = socket.getSSLParameters();
    parameters.setServerNames(List.of(new SNIHostName(host)));
    parameters.setEndpointIdentificationAlgorithm("HTTPS");
    socket.setSSLParameters(parameters);
    return socket;
  }

  /**
   * A TLS 1.1 ClientHello (no extensions, one ECDHE suite), as an old client sends it: bytes no JSSE client of this
   * JDK would send, since TLS 1.1 is disabled in it.
   */
  public static byte[] tls11ClientHello() {
    return oldClientHello(2);
  }

  /** As {@link #tls11ClientHello}, of TLS 1.{@code minor - 1} (1: TLS 1.0). */
  public static byte[] oldClientHello(int minor) {
    byte[] body = new byte[2 + 32 + 1 + 2 + 2 + 1 + 1];
    int i = 0;
    body[i++] = 3;
    body[i++] = (byte) minor;
    for (int r = 0; r < 32; r++) body[i++] = (byte) r;
    body[i++] = 0; // no session id
    body[i++] = 0;
    body[i++] = 2;
    body[i++] = (byte) 0xc0;
    body[i++] = 0x13; // TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA
    body[i++] = 1;
    body[i++] = 0; // null compression
    byte[] record = new byte[5 + 4 + body.length];
    record[0] = 0x16;
    record[1] = 3;
    record[2] = 1;
    record[3] = 0;
    record[4] = (byte) (4 + body.length);
    record[5] = 1; // ClientHello
    record[6] = 0;
    record[7] = 0;
    record[8] = (byte) body.length;
    System.arraycopy(body, 0, record, 9, body.length);
    return record;
  }

  /** A modern client's first flight: the ClientHello record(s) a JSSE client engine's first wrap makes, for this host. */
  public static byte[] modernClientHello(String host) {
    try {
      javax.net.ssl.SSLEngine engine = SSLContext.getDefault().createSSLEngine(host, 443);
      engine.setUseClientMode(true);
      SSLParameters parameters = engine.getSSLParameters();
      parameters.setServerNames(List.of(new SNIHostName(host)));
      engine.setSSLParameters(parameters);
      java.nio.ByteBuffer out = java.nio.ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
      engine.wrap(java.nio.ByteBuffer.allocate(0), out);
      return java.util.Arrays.copyOf(out.array(), out.position());
    } catch (IOException | java.security.GeneralSecurityException e) {
      throw new AssertionError(e);
    }
  }

  /**
   * The same handshake bytes in records of at most {@code size} bytes each (RFC 8446 5.1: a handshake message may span
   * records), the record headers of the original kept but for the length.
   */
  public static List<byte[]> fragment(byte[] records, int size) {
    List<byte[]> out = new java.util.ArrayList<>();
    for (int at = 0; at < records.length; ) {
      int length = ((records[at + 3] & 0xff) << 8) | (records[at + 4] & 0xff);
      for (int from = 0; from < length; from += size) {
        int n = Math.min(size, length - from);
        byte[] record = new byte[5 + n];
        System.arraycopy(records, at, record, 0, 3);
        record[3] = (byte) (n >> 8);
        record[4] = (byte) n;
        System.arraycopy(records, at + 5 + from, record, 5, n);
        out.add(record);
      }
      at += 5 + length;
    }
    return out;
  }

  /**
   * A ClientHello whose handshake header claims {@code claimed} bytes, followed by that many zero bytes in records of
   * the largest allowed size: a hello too large for any server to buffer.
   */
  public static byte[] oversizedClientHello(int claimed) {
    byte[] message = new byte[4 + claimed];
    message[0] = 1;
    message[1] = (byte) (claimed >> 16);
    message[2] = (byte) (claimed >> 8);
    message[3] = (byte) claimed;
    message[4] = 3;
    message[5] = 3;
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    for (int from = 0; from < message.length; from += 16384) {
      int n = Math.min(16384, message.length - from);
      out.write(new byte[] {0x16, 3, 1, (byte) (n >> 8), (byte) n}, 0, 5);
      out.write(message, from, n);
    }
    return out.toByteArray();
  }

  /** An SSLv2-format ClientHello (offering SSL 2.0, one SSLv2 suite), as very old clients and scanners send it. */
  public static byte[] sslv2ClientHello() {
    byte[] hello = new byte[2 + 9 + 3 + 16];
    int i = 0;
    hello[i++] = (byte) 0x80; // two-byte header, no padding
    hello[i++] = (byte) (hello.length - 2);
    hello[i++] = 1; // CLIENT-HELLO
    hello[i++] = 0;
    hello[i++] = 2; // SSL 2.0
    hello[i++] = 0;
    hello[i++] = 3; // cipher specs: one
    hello[i++] = 0;
    hello[i++] = 0; // no session id
    hello[i++] = 0;
    hello[i++] = 16; // challenge
    hello[i++] = 1;
    hello[i++] = 0;
    hello[i++] = (byte) 0x80; // SSL_CK_RC4_128_WITH_MD5
    for (int r = 0; r < 16; r++) hello[i++] = (byte) r;
    return hello;
  }
}
