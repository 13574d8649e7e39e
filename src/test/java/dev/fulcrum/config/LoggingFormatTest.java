package dev.fulcrum.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fulcrum.testing.FulcrumProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code fulcrum.logging.format = json}: every line the application logs is one JSON object; a bad log dir fails start-up. */
class LoggingFormatTest {
  @TempDir Path dir;

  @Test
  void theApplicationLogIsJsonLinesWhenAsked() throws Exception {
    Path config = dir.resolve("json.conf");
    Files.writeString(config, """
        fulcrum.logging.format = json
        fulcrum.pools.web.backends = ["127.0.0.1:9"]
        fulcrum.admin.bind = "127.0.0.1:0"
        pekko-persistence-jdbc.shared-databases.fulcrum.db.url = "jdbc:h2:mem:json-log;DB_CLOSE_DELAY=-1"
        """);
    try (FulcrumProcess fulcrum = new FulcrumProcess(dir, "--config", config.toString())) {
      fulcrum.awaitStdout("admin api on", Duration.ofSeconds(60));
      fulcrum.terminate();
      assertEquals(0, fulcrum.awaitExit(60), fulcrum.stderr());
      List<String> lines = fulcrum.stdout().lines().filter(l -> !l.isBlank()).toList();
      assertTrue(lines.size() >= 3, fulcrum.stdout());
      ObjectMapper json = new ObjectMapper();
      boolean sawAdmin = false;
      for (String line : lines) {
        JsonNode node = json.readTree(line); // fails the test on a line that is not JSON
        assertTrue(node.has("@timestamp") && node.has("level") && node.has("message"), line);
        sawAdmin |= node.get("message").asText().startsWith("admin api on");
      }
      assertTrue(sawAdmin);
    }
  }

  @Test
  void anUnwritableAccessLogDirectoryStopsStartUp() throws Exception {
    Path blocker = dir.resolve("not-a-dir");
    Files.writeString(blocker, "a file where the log directory should be");
    Path config = dir.resolve("bad-log.conf");
    Files.writeString(config, """
        fulcrum.access-log.path = "%s/access.log"
        fulcrum.pools.web.backends = ["127.0.0.1:9"]
        fulcrum.admin.bind = "127.0.0.1:0"
        """.formatted(blocker));
    try (FulcrumProcess fulcrum = new FulcrumProcess(dir, "--config", config.toString())) {
      assertEquals(2, fulcrum.awaitExit(60), fulcrum.stderr());
      String err = fulcrum.stderr().strip();
      assertTrue(err.startsWith("fulcrum: invalid configuration in ") && err.contains("fulcrum.access-log.path: cannot create the directory " + blocker), err);
      assertFalse(err.contains("\tat "), err);
    }
  }
}
