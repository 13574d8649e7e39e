package dev.fulcrum.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.testing.FulcrumProcess;
import dev.fulcrum.testing.TestConfig;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code --check} validates a config and the listen addresses, prints its verdict and exits; it starts nothing. */
class ConfigCheckTest {
  @TempDir Path dir;

  @Test
  void aGoodConfigIsOkAndNothingStarts() throws IOException {
    int tcp = TestConfig.freePort();
    int http = TestConfig.freePort();
    Path config = write("""
        fulcrum.pools.web.backends = ["127.0.0.1:9001"]
        fulcrum.listeners.tcp.main { bind = "127.0.0.1:%d", pool = web }
        fulcrum.listeners.http.web { bind = "127.0.0.1:%d", routes = [{pool = web}] }
        fulcrum.admin.bind = "127.0.0.1:0"
        """.formatted(tcp, http));
    try (FulcrumProcess fulcrum = new FulcrumProcess(dir, "--check", "--config", config.toString())) {
      assertEquals(0, fulcrum.awaitExit(60), fulcrum.stderr());
      assertEquals("configuration OK", fulcrum.stdout().strip());
      assertEquals("", fulcrum.stderr().strip());
    }
    // nothing was started: no journal, no access log directory
    assertFalse(Files.exists(dir.resolve("data")), "the journal was not opened");
    assertFalse(Files.exists(dir.resolve("logs")), "the access log was not opened");
  }

  @Test
  void aMisspeltSettingIsWarnedWithTheNameMeant() throws IOException {
    Path config = write("""
        fulcrum.pools.web { stratgy = random, backends = ["127.0.0.1:9001"] }
        fulcrum.admin.bind = "127.0.0.1:0"
        """);
    try (FulcrumProcess fulcrum = new FulcrumProcess(dir, "--check", "--config", config.toString())) {
      assertEquals(0, fulcrum.awaitExit(60), fulcrum.stderr());
      List<String> lines = fulcrum.stdout().strip().lines().toList();
      assertEquals(2, lines.size(), fulcrum.stdout());
      assertTrue(lines.get(0).startsWith(
          "warning: fulcrum.pools.web.stratgy: unknown setting, ignored (did you mean strategy?) ("), lines.get(0));
      assertTrue(lines.get(0).contains(config.getFileName().toString() + ": 1"), lines.get(0));
      assertEquals("configuration OK", lines.get(1));
    }
  }

  @Test
  void aBrokenConfigGetsTheSameLineAsStartUp() throws IOException {
    Path config = write("""
        fulcrum.pools.web.backends = ["127.0.0.1:9001"]
        fulcrum.listeners.tcp.main { bind = "127.0.0.1:0", pool = nope }
        """);
    String checked = failure("--check", "--config", config.toString());
    String started = failure("--config", config.toString());
    assertEquals(started, checked);
    assertTrue(checked.contains("fulcrum.listeners.tcp.main.pool: unknown pool 'nope' (defined: web)"), checked);
  }

  @Test
  void aBadAccessLogFormatIsNamed() throws IOException {
    Path config = write("""
        fulcrum.pools.web.backends = ["127.0.0.1:9001"]
        fulcrum.access-log.format = xml
        """);
    assertTrue(failure("--check", "--config", config.toString())
        .contains("fulcrum.access-log.format: must be text or json, got 'xml'"));
  }

  @Test
  void aMissingCertificateIsNamed() throws IOException {
    Path config = write("""
        fulcrum.pools.web.backends = ["127.0.0.1:9001"]
        fulcrum.admin.bind = "127.0.0.1:0"
        fulcrum.listeners.http.secure {
          bind = "127.0.0.1:0", routes = [{pool = web}]
          tls.certificates = [{cert = "/nowhere/cert.pem", key = "/nowhere/key.pem"}]
        }
        """);
    String line = failure("--check", "--config", config.toString());
    assertTrue(line.contains("fulcrum.listeners.http.secure.tls.certificates[0].cert: '/nowhere/cert.pem' is not a readable file"), line);
  }

  @Test
  void anUnusableCertificateIsNamed() throws IOException {
    Path cert = Files.writeString(dir.resolve("cert.pem"), "not a certificate");
    Path key = Files.writeString(dir.resolve("key.pem"), "not a key");
    Path config = write("""
        fulcrum.pools.web.backends = ["127.0.0.1:9001"]
        fulcrum.admin.bind = "127.0.0.1:0"
        fulcrum.listeners.http.secure {
          bind = "127.0.0.1:0", routes = [{pool = web}]
          tls.certificates = [{cert = "%s", key = "%s"}]
        }
        """.formatted(cert, key));
    String line = failure("--check", "--config", config.toString());
    assertTrue(line.contains("cannot start http listener 'secure'"), line);
    assertEquals(line, failure("--config", config.toString()), "the same line as start-up");
  }

  @Test
  void aPortInUseIsReported() throws IOException {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      Path config = write("""
          fulcrum.pools.web.backends = ["127.0.0.1:9001"]
          fulcrum.listeners.tcp.main { bind = "0.0.0.0:%d", pool = web }
          fulcrum.admin.bind = "127.0.0.1:0"
          """.formatted(taken.getLocalPort()));
      assertTrue(failure("--check", "--config", config.toString())
          .contains("cannot start tcp listener 'main' on 0.0.0.0:" + taken.getLocalPort() + ": address already in use"));
    }
  }

  private Path write(String hocon) throws IOException {
    Path config = Files.createTempFile(dir, "check", ".conf");
    Files.writeString(config, hocon);
    return config;
  }

  /** Runs Fulcrum, expects exit code 2 with one line on stderr and no stack trace, and returns that line. */
  private String failure(String... args) {
    try (FulcrumProcess fulcrum = new FulcrumProcess(dir, args)) {
      assertEquals(2, fulcrum.awaitExit(60), fulcrum.stderr());
      List<String> lines = fulcrum.stderr().lines().filter(l -> !l.isBlank()).toList();
      assertEquals(1, lines.size(), fulcrum.stderr());
      assertFalse((fulcrum.stdout() + fulcrum.stderr()).contains("\tat "), "stack trace:\n" + fulcrum.stdout());
      assertTrue(lines.get(0).startsWith("fulcrum: "), lines.get(0));
      return lines.get(0);
    }
  }
}
