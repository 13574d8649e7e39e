package dev.fulcrum.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.config.TlsSettings;
import dev.fulcrum.testing.TestCertificates;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Certificates and keys that cannot be used are refused with a message naming the file and the problem. */
class TlsContextTest {
  @TempDir Path dir;

  private TlsSettings settings(Path cert, Path key) {
    return new TlsSettings(List.of(new TlsSettings.Certificate(Optional.of(cert), Optional.of(key), Optional.empty(), "", "t")),
        List.of("TLSv1.3", "TLSv1.2"), List.of(), TlsSettings.ClientAuth.NONE, Optional.empty());
  }

  @Test
  void aGoodPairLoadsAndNamesWhatItServes() throws Exception {
    TestCertificates.selfSigned(dir, "a", true, "a.example", "www.a.example");
    TlsContext tls = TlsContext.load("l", settings(dir.resolve("a.pem"), dir.resolve("a.key")));
    assertEquals("a.example,www.a.example (EC)", tls.describe());
  }

  @Test
  void unusableFilesSayWhatIsWrong() throws Exception {
    TestCertificates.selfSigned(dir, "rsa", false, "r.example");
    TestCertificates.selfSigned(dir, "ec", true, "e.example");
    Path junk = Files.writeString(dir.resolve("junk.pem"), "hello");
    assertTrue(message(dir.resolve("junk.pem"), dir.resolve("rsa.key")).contains("junk.pem: no certificate in it"));
    assertTrue(message(dir.resolve("rsa.pem"), junk).contains("junk.pem: no PEM private key in it"));
    String mismatch = message(dir.resolve("rsa.pem"), dir.resolve("ec.key"));
    assertTrue(mismatch.contains("an EC key for an RSA certificate"), mismatch);
    Path pkcs1 = dir.resolve("pkcs1.key");
    TestCertificates.run(List.of("openssl", "pkey", "-in", dir.resolve("rsa.key").toString(), "-traditional",
        "-out", pkcs1.toString()));
    assertTrue(message(dir.resolve("rsa.pem"), pkcs1).contains("openssl pkcs8 -topk8 -nocrypt"));
  }

  private String message(Path cert, Path key) {
    return assertThrows(TlsException.class, () -> TlsContext.load("l", settings(cert, key))).getMessage();
  }
}
