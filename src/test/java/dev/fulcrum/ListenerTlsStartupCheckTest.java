package dev.fulcrum;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.config.SettingsParser;
import dev.fulcrum.testing.TestCertificates;
import dev.fulcrum.testing.TestConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A listener certificate that can be read but not used (a PKCS#12 file with a wrong password, an expired certificate)
 * stops start-up (and --check) with one line naming the listener, the setting and the file.
 */
class ListenerTlsStartupCheckTest {
  @TempDir Path dir;

  @Test
  void aWrongPkcs12PasswordNamesTheSetting() throws Exception {
    TestCertificates.pkcs12(dir, "p", "secret", "-1d", 5, "p.example");
    String message = failure("{pkcs12 = \"%s\", password = \"not-the-password\"}".formatted(dir.resolve("p.p12")), "http");
    assertTrue(message.contains("cannot start http listener 'secure' on 127.0.0.1:0: "
        + "fulcrum.listeners.http.secure.tls.certificates[0]: " + dir.resolve("p.p12")
        + ": cannot be read as PKCS#12 with the given password"), message);
  }

  @Test
  void anExpiredCertificateNamesTheSettingOnHttpAndTcpListeners() throws Exception {
    TestCertificates.pkcs12(dir, "old", "secret", "-3d", 1, "old.example");
    TestCertificates.pemFromPkcs12(dir, "old", "secret");
    String http = failure("{cert = \"%s\", key = \"%s\"}".formatted(dir.resolve("old.pem"), dir.resolve("old.key")), "http");
    assertTrue(http.contains("cannot start http listener 'secure' on 127.0.0.1:0: "
        + "fulcrum.listeners.http.secure.tls.certificates[0]: " + dir.resolve("old.pem") + ": the certificate expired on "), http);
    String tcp = failure("{pkcs12 = \"%s\", password = \"secret\"}".formatted(dir.resolve("old.p12")), "tcp");
    assertTrue(tcp.contains("cannot start tcp listener 'secure' on 127.0.0.1:0: "
        + "fulcrum.listeners.tcp.secure.tls.certificates[0]: " + dir.resolve("old.p12") + ": the certificate expired on "), tcp);
  }

  private static String failure(String certificate, String kind) {
    String listener = kind.equals("http")
        ? "fulcrum.listeners.http.secure { bind = \"127.0.0.1:0\", routes = [{pool = web}], tls.certificates = [%s] }"
        : "fulcrum.listeners.tcp.secure { bind = \"127.0.0.1:0\", pool = web, tls.certificates = [%s] }";
    var settings = SettingsParser.parse(TestConfig.resolved(
        "fulcrum.pools.web.backends = [\"127.0.0.1:1\"]\n" + listener.formatted(certificate)));
    String message = assertThrows(StartupException.class, () -> ConfigCheck.checkCertificates(settings)).getMessage();
    assertFalse(message.contains("\n"), message);
    return message;
  }
}
