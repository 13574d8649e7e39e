package dev.fulcrum;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.config.SettingsParser;
import dev.fulcrum.testing.TestConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** A pool's backend TLS file that can be read but not used stops start-up (and --check) naming the setting. */
class BackendTlsStartupCheckTest {
  @Test
  void anUnusableCaFileNamesItsSetting() throws Exception {
    Path notPem = Files.createTempFile("fulcrum-not-a-ca", ".pem");
    Files.writeString(notPem, "not a certificate");
    var settings = SettingsParser.parse(TestConfig.resolved(
        "fulcrum.pools.api { backends = [\"127.0.0.1:1\"], tls.ca-file = \"%s\" }".formatted(notPem)));
    StartupException e = assertThrows(StartupException.class, () -> ConfigCheck.checkCertificates(settings));
    assertTrue(e.getMessage().contains("fulcrum.pools.api.tls.ca-file: " + notPem + ": no certificate in it"), e.getMessage());
  }

  @Test
  void anUnusableClientKeyNamesItsSetting() throws Exception {
    Path dir = Files.createTempDirectory("fulcrum-client-cert");
    dev.fulcrum.testing.TestCertificates.selfSigned(dir, "client", true, "client.internal");
    Files.writeString(dir.resolve("bad.key"), "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n");
    var settings = SettingsParser.parse(TestConfig.resolved("""
        fulcrum.pools.api { backends = ["127.0.0.1:1"], tls { cert-file = "%s", key-file = "%s" } }"""
        .formatted(dir.resolve("client.pem"), dir.resolve("bad.key"))));
    StartupException e = assertThrows(StartupException.class, () -> ConfigCheck.checkCertificates(settings));
    assertTrue(e.getMessage().contains("fulcrum.pools.api.tls.key-file: "), e.getMessage());
  }
}
