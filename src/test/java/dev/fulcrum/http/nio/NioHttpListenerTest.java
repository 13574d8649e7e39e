package dev.fulcrum.http.nio;

import static org.junit.jupiter.api.Assertions.assertNull;

import dev.fulcrum.config.FirewallSettings;
import dev.fulcrum.config.HostPort;
import dev.fulcrum.config.HttpListenerSettings;
import dev.fulcrum.config.HttpListenerSettings.HttpLimits;
import dev.fulcrum.config.HttpListenerSettings.RetryBudgetSettings;
import dev.fulcrum.config.PathSettings;
import dev.fulcrum.nio.EventLoop;
import dev.fulcrum.nio.EventLoops;
import dev.fulcrum.routing.RoutingTables;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class NioHttpListenerTest {
  private final EventLoops loops = new EventLoops("listener-test", 2);

  @AfterEach
  void stop() {
    loops.stop();
  }

  /**
   * Every loop accepts as soon as it has registered the listening socket, which can be before the listener knows its
   * server: a connection that reaches max-connections then must not fail on pausing a server not known yet.
   */
  @Test
  void aConnectionAcceptedBeforeTheServerIsKnownCanReachTheLimit() throws Exception {
    HttpListenerSettings settings = new HttpListenerSettings("early", new HostPort("127.0.0.1", 0), List.of(),
        FirewallSettings.OPEN, new HttpLimits(8192, 100, 8192, 1 << 20, 1), Duration.ofSeconds(5),
        new RetryBudgetSettings(0.2, 10), HttpListenerSettings.Engine.NIO, PathSettings.DEFAULT, java.util.Optional.empty(), List.of());
    EventLoop loop = loops.all()[0];
    NioHttpListener listener = new NioHttpListener(settings, new RoutingTables(), loops.all(), null);
    try (ServerSocket peer = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        SocketChannel accepted = SocketChannel.open(new InetSocketAddress(InetAddress.getLoopbackAddress(), peer.getLocalPort()))) {
      CompletableFuture<Throwable> failure = new CompletableFuture<>();
      loop.execute(() -> {
        try {
          listener.accepted(loop, accepted);
          failure.complete(null);
        } catch (RuntimeException e) {
          failure.complete(e);
        }
      });
      assertNull(failure.get(10, TimeUnit.SECONDS));
    }
  }
}
