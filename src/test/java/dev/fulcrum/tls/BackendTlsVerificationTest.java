package dev.fulcrum.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.fulcrum.config.BackendTlsSettings;
import dev.fulcrum.testing.TestCertificates;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import tlschannel.ClientTlsChannel;
import tlschannel.TlsChannel;

/**
 * What a pool's TLS to its backends accepts, handshake by handshake against a real TLS server on 127.0.0.1 whose
 * certificate names backend.internal: the right name with the right CA; not another name, another CA, or the system
 * trust store for a self-signed certificate; any name when verify-hostname is off, the CA still checked.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BackendTlsVerificationTest {
  private Path dir;
  private SSLServerSocket server;
  private Thread acceptor;

  @BeforeAll
  void start() throws Exception {
    dir = Files.createTempDirectory("fulcrum-backend-tls-unit");
    TestCertificates.selfSigned(dir, "backend", true, "backend.internal");
    TestCertificates.authority(dir, "other-ca");
    TlsContext context = TlsContext.load("backend", new dev.fulcrum.config.TlsSettings(
        List.of(new dev.fulcrum.config.TlsSettings.Certificate(Optional.of(dir.resolve("backend.pem")),
            Optional.of(dir.resolve("backend.key")), Optional.empty(), "", "t")),
        List.of("TLSv1.3", "TLSv1.2"), List.of(), dev.fulcrum.config.TlsSettings.ClientAuth.NONE, Optional.empty()));
    server = (SSLServerSocket) context.sslContext().getServerSocketFactory()
        .createServerSocket(0, 50, InetAddress.getLoopbackAddress());
    acceptor = new Thread(() -> {
      while (!server.isClosed()) {
        try (SSLSocket socket = (SSLSocket) server.accept()) {
          socket.setSoTimeout(5000);
          InputStream in = socket.getInputStream();
          OutputStream out = socket.getOutputStream();
          int b = in.read();
          if (b >= 0) out.write(b);
          out.flush();
        } catch (IOException refused) {
          // a client that refused the certificate: next
        }
      }
    });
    acceptor.setDaemon(true);
    acceptor.start();
  }

  @AfterAll
  void stop() throws IOException {
    server.close();
  }

  @Test
  void theRightNameSignedByTheGivenCaIsAccepted() throws Exception {
    assertEquals('x', exchange(settings(Optional.of(dir.resolve("backend.pem")), Optional.of("backend.internal"), true)));
  }

  @Test
  void anotherNameIsRefused() {
    assertThrows(SSLException.class,
        () -> exchange(settings(Optional.of(dir.resolve("backend.pem")), Optional.of("elsewhere.internal"), true)));
  }

  @Test
  void theBackendsAddressIsNotItsNameEither() {
    assertThrows(SSLException.class, () -> exchange(settings(Optional.of(dir.resolve("backend.pem")), Optional.empty(), true)));
  }

  @Test
  void anotherCaOrTheSystemTrustStoreIsRefused() {
    assertThrows(SSLException.class,
        () -> exchange(settings(Optional.of(dir.resolve("other-ca.pem")), Optional.of("backend.internal"), true)));
    assertThrows(SSLException.class, () -> exchange(settings(Optional.empty(), Optional.of("backend.internal"), true)));
  }

  @Test
  void withoutHostNameVerificationAnyNameGoesButTheCaIsStillChecked() throws Exception {
    assertEquals('x', exchange(settings(Optional.of(dir.resolve("backend.pem")), Optional.of("elsewhere.internal"), false)));
    assertThrows(SSLException.class,
        () -> exchange(settings(Optional.of(dir.resolve("other-ca.pem")), Optional.of("elsewhere.internal"), false)));
  }

  private static BackendTlsSettings settings(Optional<Path> ca, Optional<String> name, boolean verify) {
    return new BackendTlsSettings(ca.map(Path::toString), name, verify, Optional.empty(), Optional.empty(),
        List.of("TLSv1.3", "TLSv1.2"));
  }

  /** A blocking TLS exchange with the server through the pool's engine: one byte there and back. */
  private int exchange(BackendTlsSettings settings) throws Exception {
    BackendTls tls = BackendTls.of(settings);
    try (SocketChannel channel = SocketChannel.open(new InetSocketAddress("127.0.0.1", server.getLocalPort()))) {
      TlsChannel client = ClientTlsChannel.newBuilder(channel, tls.newEngine("127.0.0.1", server.getLocalPort())).build();
      client.write(ByteBuffer.wrap(new byte[] {'x'}));
      ByteBuffer back = ByteBuffer.allocate(1);
      client.read(back);
      return back.get(0);
    }
  }
}
