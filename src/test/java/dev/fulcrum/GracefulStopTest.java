package dev.fulcrum;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.testing.Eventually;
import dev.fulcrum.testing.FulcrumProcess;
import dev.fulcrum.testing.RawTcpServer;
import dev.fulcrum.testing.TestConfig;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GracefulStopTest {
  @TempDir Path dir;

  @Test
  void sigtermStopsAcceptingLetsOpenConnectionsFinishAndExitsZero() throws Exception {
    int port = TestConfig.freePort();
    try (RawTcpServer echo = RawTcpServer.echo()) {
      Path config = dir.resolve("fulcrum.conf");
      Files.writeString(config, "fulcrum.pools.p { backends = [\"" + echo.address() + "\"], health-check.type = tcp }\n"
          + "fulcrum.listeners.tcp.t { bind = \"127.0.0.1:" + port + "\", pool = p }\n"
          + "fulcrum.admin.bind = \"127.0.0.1:0\"\n");
      try (FulcrumProcess fulcrum = new FulcrumProcess(dir, "--config", config.toString())) {
        String started = "tcp listener t on /127.0.0.1:" + port + " -> pool p";
        fulcrum.awaitStdout(started, Duration.ofSeconds(60));

        try (Socket open = new Socket("127.0.0.1", port)) {
          open.setSoTimeout(10_000);
          assertEquals("hello", roundTrip(open, "hello"));

          fulcrum.terminate();
          Eventually.await(Duration.ofSeconds(10), "new connections refused", () -> !connects(port));
          assertTrue(fulcrum.isAlive(), "exited while a connection was still open");
          try {
            assertEquals("still here", roundTrip(open, "still here"));
          } catch (IOException e) {
            throw new AssertionError("open connection broken after SIGTERM; fulcrum said:\n" + fulcrum.stdout() + fulcrum.stderr(), e);
          }
        }
        assertEquals(0, fulcrum.awaitExit(30), fulcrum.stdout() + fulcrum.stderr());
      }
    }
  }

  private static String roundTrip(Socket socket, String text) throws IOException {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    socket.getOutputStream().write(bytes);
    InputStream in = socket.getInputStream();
    byte[] reply = in.readNBytes(bytes.length);
    return new String(reply, StandardCharsets.UTF_8);
  }

  private static boolean connects(int port) {
    try (Socket ignored = new Socket("127.0.0.1", port)) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
