package dev.fulcrum.nio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.SelectionKey;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ConnectorTest {
  private static final long AN_HOUR = TimeUnit.HOURS.toNanos(1);

  private final EventLoop loop = new EventLoop("connector-test", 1024);
  private ServerSocketChannel backend;
  private Thread acceptor;

  @BeforeEach
  void startBackend() throws IOException {
    backend = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0), 1024);
    acceptor = new Thread(() -> {
      try {
        while (true) backend.accept().close();
      } catch (IOException closed) {
        // the test is over
      }
    }, "connector-test-backend");
    acceptor.start();
  }

  @AfterEach
  void stop() throws Exception {
    loop.stop();
    backend.close();
    acceptor.join(5_000);
  }

  @Test
  void connectsThatSucceedFailOrAreCancelledLeaveNoTimerBehind() throws Exception {
    InetSocketAddress up = (InetSocketAddress) backend.getLocalAddress();
    InetSocketAddress refused = unusedPort();

    assertEquals(10_000, onLoop(done -> connectInTurn(up, 10_000, 0, done)));
    assertEquals(100, onLoop(done -> connectInTurn(refused, 100, 0, done)));
    assertEquals(100, onLoop(done -> {
      for (int i = 0; i < 100; i++) Connector.connect(loop, up, AN_HOUR, failOnCallback(done)).cancel();
      done.complete(100);
    }));

    assertEquals(0, onLoop(done -> done.complete(loop.pendingTimers())));
  }

  @Test
  void manyConcurrentConnectsToAHostNameShareAFewLookupThreadsAndAllSucceed() throws Exception {
    InetSocketAddress byName = InetSocketAddress.createUnresolved("localhost", backend.socket().getLocalPort());
    int count = 1000;
    AtomicInteger connected = new AtomicInteger();
    CompletableFuture<Void> done = new CompletableFuture<>();
    loop.execute(() -> {
      for (int i = 0; i < count; i++) {
        Connector.connect(loop, byName, AN_HOUR, new Connector.Callback() {
          @Override
          public void connected(SocketChannel channel, SelectionKey key) {
            try {
              channel.setOption(StandardSocketOptions.SO_LINGER, 0);
              channel.close();
            } catch (IOException e) {
              done.completeExceptionally(e);
            }
            if (connected.incrementAndGet() == count) done.complete(null);
          }

          @Override
          public void failed(String reason, boolean timedOut) {
            done.completeExceptionally(new AssertionError("a connect to localhost failed: " + reason));
          }
        });
      }
    });

    done.get(30, TimeUnit.SECONDS);
    List<String> resolvers = Thread.getAllStackTraces().keySet().stream()
        .map(Thread::getName).filter(name -> name.startsWith("fulcrum-resolver")).toList();
    assertTrue(resolvers.size() <= 4, "resolver threads: " + resolvers);
  }

  @Test
  void aCheckSettlesALoopbackConnectAtOnce() throws Exception {
    InetSocketAddress up = (InetSocketAddress) backend.getLocalAddress();
    String refusedAtOnce = check(unusedPort());
    assertTrue(refusedAtOnce.startsWith("at once: failed: ") && refusedAtOnce.toLowerCase().contains("refused"),
        refusedAtOnce);
    assertEquals("at once: connected", check(up));
    assertEquals(0, onLoop(done -> done.complete(loop.pendingTimers())));
  }

  /** One {@link Connector#check} without a timeout: how it ended, and whether before it returned. */
  private String check(InetSocketAddress address) throws Exception {
    CompletableFuture<String> ended = new CompletableFuture<>();
    boolean[] returned = {false};
    loop.execute(() -> {
      Connector.check(loop, address, 0, new Connector.Callback() {
        @Override
        public void connected(SocketChannel channel, SelectionKey key) {
          try {
            channel.setOption(StandardSocketOptions.SO_LINGER, 0);
            channel.close();
          } catch (IOException e) {
            ended.completeExceptionally(e);
          }
          ended.complete((returned[0] ? "later" : "at once") + ": connected");
        }

        @Override
        public void failed(String reason, boolean timedOut) {
          ended.complete((returned[0] ? "later" : "at once") + ": failed: " + reason);
        }
      }, false);
      returned[0] = true;
    });
    return ended.get(10, TimeUnit.SECONDS);
  }

  /** {@code count} connects one after the other, each closed at once; completes with how many ended. */
  private void connectInTurn(InetSocketAddress address, int count, int ended, CompletableFuture<Integer> done) {
    if (ended == count) {
      done.complete(ended);
      return;
    }
    Connector.connect(loop, address, AN_HOUR, new Connector.Callback() {
      @Override
      public void connected(SocketChannel channel, SelectionKey key) {
        try {
          // a reset, not a close: 10k sockets in TIME_WAIT would crowd the ephemeral ports of the next run
          channel.setOption(StandardSocketOptions.SO_LINGER, 0);
          channel.close();
        } catch (IOException e) {
          done.completeExceptionally(e);
          return;
        }
        next();
      }

      @Override
      public void failed(String reason, boolean timedOut) {
        next();
      }

      private void next() {
        loop.execute(() -> connectInTurn(address, count, ended + 1, done));
      }
    });
  }

  private static Connector.Callback failOnCallback(CompletableFuture<?> done) {
    return new Connector.Callback() {
      @Override
      public void connected(SocketChannel channel, SelectionKey key) {
        done.completeExceptionally(new AssertionError("a cancelled connect called back"));
      }

      @Override
      public void failed(String reason, boolean timedOut) {
        done.completeExceptionally(new AssertionError("a cancelled connect called back: " + reason));
      }
    };
  }

  private interface LoopTask {
    void run(CompletableFuture<Integer> done) throws Exception;
  }

  /** Runs the task on the loop and waits for the count it completes with. */
  private int onLoop(LoopTask task) throws Exception {
    CompletableFuture<Integer> done = new CompletableFuture<>();
    loop.execute(() -> {
      try {
        task.run(done);
      } catch (Exception | AssertionError e) {
        done.completeExceptionally(e);
      }
    });
    return done.get(60, TimeUnit.SECONDS);
  }

  private static InetSocketAddress unusedPort() throws IOException {
    try (ServerSocketChannel closed = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0))) {
      return (InetSocketAddress) closed.getLocalAddress();
    }
  }
}
