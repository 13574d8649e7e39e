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
    return new TlsSettings(List.of(new TlsSettings.Certificate(Optional.of(cert), Optional.of(key), Optional.empty(), "",
        "fulcrum.listeners.http.l.tls.certificates[0]")),
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

  @Test
  void anExpiredOrNotYetValidCertificateIsRefusedNamingTheConfigPath() throws Exception {
    TestCertificates.pkcs12(dir, "expired", "secret", "-3d", 1, "x.example");
    TestCertificates.pemFromPkcs12(dir, "expired", "secret");
    TestCertificates.pkcs12(dir, "future", "secret", "+2d", 5, "x.example");
    TestCertificates.pemFromPkcs12(dir, "future", "secret");

    String pem = message(dir.resolve("expired.pem"), dir.resolve("expired.key"));
    assertTrue(pem.startsWith("fulcrum.listeners.http.l.tls.certificates[0]: " + dir.resolve("expired.pem")
        + ": the certificate expired on "), pem);
    String p12 = pkcs12Message(dir.resolve("expired.p12"), "secret");
    assertTrue(p12.startsWith("fulcrum.listeners.http.l.tls.certificates[0]: " + dir.resolve("expired.p12")
        + ": the certificate expired on "), p12);
    String future = message(dir.resolve("future.pem"), dir.resolve("future.key"));
    assertTrue(future.contains(dir.resolve("future.pem") + ": the certificate is not valid before "), future);
    assertTrue(pkcs12Message(dir.resolve("future.p12"), "secret").contains(": the certificate is not valid before "));

    // the same files, valid today: loaded (what is refused above is the dates, nothing else)
    TestCertificates.pkcs12(dir, "today", "secret", "-1d", 5, "x.example");
    TestCertificates.pemFromPkcs12(dir, "today", "secret");
    assertEquals("x.example (EC)", TlsContext.load("l", settings(dir.resolve("today.pem"), dir.resolve("today.key"))).describe());
    assertEquals("x.example (EC)", TlsContext.load("l", pkcs12(dir.resolve("today.p12"), "secret")).describe());
  }

  @Test
  void aPkcs12FileWithAWrongPasswordIsRefusedNamingTheConfigPath() throws Exception {
    TestCertificates.pkcs12(dir, "p", "secret", "-1d", 5, "p.example");
    String wrong = pkcs12Message(dir.resolve("p.p12"), "wrong");
    assertTrue(wrong.startsWith("fulcrum.listeners.http.l.tls.certificates[0]: " + dir.resolve("p.p12")
        + ": cannot be read as PKCS#12 with the given password"), wrong);
    assertTrue(pkcs12Message(dir.resolve("p.p12"), "").contains("cannot be read as PKCS#12"));
    Path junk = Files.writeString(dir.resolve("junk.p12"), "hello");
    assertTrue(pkcs12Message(junk, "secret").contains("junk.p12: cannot be read as PKCS#12"));
  }

  private TlsSettings pkcs12(Path file, String password) {
    return new TlsSettings(List.of(new TlsSettings.Certificate(Optional.empty(), Optional.empty(), Optional.of(file), password,
        "fulcrum.listeners.http.l.tls.certificates[0]")),
        List.of("TLSv1.3", "TLSv1.2"), List.of(), TlsSettings.ClientAuth.NONE, Optional.empty());
  }

  private String pkcs12Message(Path file, String password) {
    return assertThrows(TlsException.class, () -> TlsContext.load("l", pkcs12(file, password))).getMessage();
  }

  private String message(Path cert, Path key) {
    return assertThrows(TlsException.class, () -> TlsContext.load("l", settings(cert, key))).getMessage();
  }
}
