package dev.fulcrum.tcp;

import dev.fulcrum.Fulcrum;
import dev.fulcrum.demo.DemoBackends;
import dev.fulcrum.routing.PoolStatus;
import dev.fulcrum.testing.HttpBackend;
import dev.fulcrum.testing.PoolHealth;
import dev.fulcrum.testing.TestConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;

/**
 * Real demo HTTP backends and a Fulcrum with one pool `web` over them and one TCP listener `l4` on a random port, run
 * by the given engine ({@code nio} or {@code streams}).
 */
final class L4Fixture implements AutoCloseable {
  final ActorTestKit backendsKit = ActorTestKit.create("backends");
  final List<HttpBackend> backends = new ArrayList<>();
  final Fulcrum fulcrum;

  L4Fixture(String engine, int backendCount, String extraPoolConfig, List<String> extraAddresses) {
    this(engine, backendCount, extraPoolConfig, extraAddresses, "");
  }

  L4Fixture(String engine, int backendCount, String extraPoolConfig, List<String> extraAddresses, String extraListenerConfig) {
    for (int i = 1; i <= backendCount; i++) {
      backends.add(new HttpBackend(backendsKit.system(), DemoBackends.handler(backendsKit.system(), "backend-" + i)));
    }
    List<String> addresses = new ArrayList<>(backends.stream().map(HttpBackend::address).toList());
    addresses.addAll(extraAddresses);
    String list = addresses.stream().map(a -> "\"" + a + "\"").collect(Collectors.joining(", "));
    fulcrum = Fulcrum.start(TestConfig.of(
        "fulcrum.pools.web { backends = [" + list + "]\n" + extraPoolConfig + "}\n"
            + "fulcrum.listeners.tcp.l4 { bind = \"127.0.0.1:0\", pool = web, engine = " + engine + "\n"
            + extraListenerConfig + "}\n"));
  }

  int port() {
    return fulcrum.tcpListener("l4").localAddress().getPort();
  }

  /** Waits until the fixture's own backends have passed their first checks. */
  void awaitUp() {
    PoolHealth.awaitAllUp(fulcrum, "web", backends.size());
  }

  PoolStatus status() {
    return PoolHealth.status(fulcrum, "web");
  }

  @Override
  public void close() throws Exception {
    fulcrum.stop().toCompletableFuture().get();
    backends.forEach(HttpBackend::close);
    backendsKit.shutdownTestKit();
  }
}
