package dev.fulcrum.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.testing.FulcrumProcess;
import dev.fulcrum.testing.TestCertificates;
import dev.fulcrum.testing.TestConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shipped {@code conf/tls.conf} works as its comment says: a pair made by the openssl command written there,
 * FULCRUM_TLS_CERT and FULCRUM_TLS_KEY naming it, a real node started with the file, and curl trusting the
 * certificate gets a demo backend's answer over HTTPS (h2, which the file switches on, and HTTP/1.1). The file binds
 * fixed ports (8443, and application.conf's 8080, 8081, 9090, 9001-9003) that a test machine may have in use: a
 * config that includes the shipped file unchanged moves only those to free ports.
 */
class TlsConfExampleTest {
  @TempDir Path dir;

  @Test
  void theShippedTlsConfServesHttpsWithTheCertificateOfTheEnvironment() throws Exception {
    Path shipped = Path.of("conf", "tls.conf").toAbsolutePath();
    TestCertificates.run(List.of("sh", "-c", "cd '" + dir + "' && " + opensslCommandOf(Files.readString(shipped))));
    int https = TestConfig.freePort();
    int[] demo = {TestConfig.freePort(), TestConfig.freePort(), TestConfig.freePort()};
    Path config = dir.resolve("tls-free-ports.conf");
    Files.writeString(config, """
        include file("%s")
        fulcrum.demo.backends = [{name = "backend-1", port = %d}, {name = "backend-2", port = %d}, {name = "backend-3", port = %d}]
        fulcrum.pools.web.backends = ["127.0.0.1:%d", "127.0.0.1:%d", "127.0.0.1:%d"]
        fulcrum.listeners.tcp.web-tcp.bind = "127.0.0.1:%d"
        fulcrum.listeners.http.web-http.bind = "127.0.0.1:%d"
        fulcrum.listeners.http.web-https.bind = "127.0.0.1:%d"
        fulcrum.admin.bind = "127.0.0.1:0"
        """.formatted(shipped.toString().replace("\\", "/"), demo[0], demo[1], demo[2], demo[0], demo[1], demo[2],
        TestConfig.freePort(), TestConfig.freePort(), https));
    Map<String, String> env = Map.of("FULCRUM_TLS_CERT", dir.resolve("cert.pem").toString(),
        "FULCRUM_TLS_KEY", dir.resolve("key.pem").toString());
    try (FulcrumProcess fulcrum = new FulcrumProcess(dir, env, "--config", config.toString())) {
      fulcrum.awaitStdout("http listener web-https on", Duration.ofSeconds(60));
      for (String version : List.of("--http2", "--http1.1")) {
        // as the file's comment calls it; the demo backends may still be starting, so a few tries
        String out = TestCertificates.run(List.of("curl", "-sS", "--max-time", "10", "--retry", "5", "--retry-all-errors",
            "--retry-delay", "1", version, "--cacert", dir.resolve("cert.pem").toString(),
            "-o", "/dev/null", "-w", "%{http_code} %{http_version}", "https://localhost:" + https + "/"));
        assertEquals(version.equals("--http2") ? "200 2" : "200 1.1", out.trim(), fulcrum.stdout() + fulcrum.stderr());
      }
      assertTrue(fulcrum.isAlive());
    }
  }

  /** The "openssl req ..." command of the file's comment, its continuation lines joined. */
  private static String opensslCommandOf(String file) {
    StringBuilder command = new StringBuilder();
    for (String line : file.lines().toList()) {
      String text = line.replaceFirst("^#\\s*", "").strip();
      if (command.length() == 0 && !text.startsWith("openssl req")) continue;
      boolean continues = text.endsWith("\\");
      command.append(continues ? text.substring(0, text.length() - 1) : text).append(' ');
      if (!continues) break;
    }
    if (command.length() == 0) throw new AssertionError("conf/tls.conf no longer shows how to make a pair with openssl");
    return command.toString().strip();
  }
}
