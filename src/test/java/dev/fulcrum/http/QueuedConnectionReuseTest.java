package dev.fulcrum.http;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.http.h2.H2ClientConnection;
import dev.fulcrum.http.h2.H2Settings;
import dev.fulcrum.http.wire.HeaderFields;
import dev.fulcrum.testing.PoolHealth;
import dev.fulcrum.testing.RawTcpServer;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.Test;

/**
 * Requests that queued for a backend's only connection (max-connections-per-backend) leave it pooled once the queue
 * drains: the next request reuses it. The pool used to take its own stale wait registration for another loop's
 * waiting requests and closed the connection instead, so every burst that queued cost a new connection.
 */
class QueuedConnectionReuseTest {
  private static final int STREAMS = 6;

  @Test
  void aConnectionThatServedTheQueueIsReusedAfterIt() throws Exception {
    AtomicInteger connections = new AtomicInteger();
    AtomicInteger requests = new AtomicInteger();
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "reuse");
    Fulcrum fulcrum = null;
    try (RawTcpServer backend = new RawTcpServer(socket -> {
      // keep-alive HTTP/1.1; the tcp health check connects without a request and is not counted
      BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.ISO_8859_1));
      OutputStream out = socket.getOutputStream();
      boolean counted = false;
      String line;
      while ((line = in.readLine()) != null) {
        if (!line.isEmpty()) continue;
        if (!counted) connections.incrementAndGet();
        counted = true;
        requests.incrementAndGet();
        out.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
      }
    })) {
      fulcrum = Fulcrum.start(ProxyTests.config("nio", """
          fulcrum.event-loops = 1
          fulcrum.pools.one { backends = ["%s"], health-check.type = tcp }
          fulcrum.http.pools.one { max-connections-per-backend = 1, queue-size = 100 }
          fulcrum.listeners.http.l { bind = "127.0.0.1:0", routes = [{pool = one}], http2.cleartext = on }
          """.formatted(backend.address())));
      PoolHealth.awaitAllUp(fulcrum, "one", 1);
      int port = fulcrum.httpListener("l").localAddress().getPort();

      // all streams in one write on one h2c connection: the first takes the connection, the others queue for it
      assertEquals(STREAMS, streamsAnswered200(port, STREAMS));
      assertEquals(1, streamsAnswered200(port, 1));

      assertEquals(STREAMS + 1, requests.get());
      assertEquals(1, connections.get(), "backend connections that carried requests");
    } finally {
      ProxyTests.stop(fulcrum, system);
    }
  }

  /** Opens {@code n} GET streams at once on a new h2c connection (Fulcrum's own client frame layer); how many got 200. */
  private static int streamsAnswered200(int port, int n) throws Exception {
    Set<Integer> done = new HashSet<>();
    AtomicInteger ok = new AtomicInteger();
    H2ClientConnection[] h2 = new H2ClientConnection[1];
    h2[0] = new H2ClientConnection(H2Settings.DEFAULTS, new H2ClientConnection.Handler() {
      @Override
      public void response(int streamId, int status, HeaderFields headers, boolean endStream) {
        if (status == 200) ok.incrementAndGet();
        if (endStream) done.add(streamId);
      }

      @Override
      public void bodyArrived(int streamId) {
        ByteBuffer body = h2[0].body(streamId);
        if (body != null) h2[0].consumed(streamId, body.remaining());
        if (h2[0].bodyEnded(streamId)) done.add(streamId);
      }

      @Override
      public void trailers(int streamId, HeaderFields trailers) {
        done.add(streamId);
      }

      @Override
      public void reset(int streamId, int errorCode) {
        done.add(streamId);
      }

      @Override
      public void writable(int streamId) {}
    }, System::nanoTime);
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(20_000);
      for (int i = 0; i < n; i++) h2[0].open("GET", "http", "reuse", "/s" + i, new HeaderFields(0), true);
      OutputStream out = socket.getOutputStream();
      InputStream in = socket.getInputStream();
      byte[] buffer = new byte[16_384];
      while (done.size() < n) {
        ByteBuffer pending = h2[0].output();
        out.write(pending.array(), pending.arrayOffset() + pending.position(), pending.remaining());
        pending.position(pending.limit());
        int read = in.read(buffer);
        if (read < 0) break;
        h2[0].feed(ByteBuffer.wrap(buffer, 0, read));
      }
    }
    return ok.get();
  }
}
