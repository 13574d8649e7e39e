package dev.fulcrum.nio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

class EventLoopTest {
  private final EventLoop loop = new EventLoop("loop-test", 1024);
  private final Logger logger = (Logger) LoggerFactory.getLogger(EventLoop.class);
  private final ListAppender<ILoggingEvent> logged = new ListAppender<>();
  private final List<SocketChannel> channels = new ArrayList<>();
  private ServerSocketChannel server;

  @BeforeEach
  void start() throws IOException {
    logged.start();
    logger.addAppender(logged);
    server = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0));
  }

  @AfterEach
  void stop() throws IOException {
    logger.detachAppender(logged);
    loop.stop();
    server.close();
    for (SocketChannel channel : channels) channel.close();
  }

  private interface Ready {
    void ready(SelectionKey key) throws IOException;
  }

  @Test
  void aHandlerThatThrowsIsLoggedWithItsStackTraceCountedAndAborted() throws Exception {
    IllegalStateException bug = new IllegalStateException("a bug in a handler");
    CompletableFuture<Throwable> aborted = new CompletableFuture<>();
    SocketChannel peer = connectedHandler(key -> {
      throw bug;
    }, aborted::complete);
    peer.write(ByteBuffer.wrap(new byte[] {1}));

    assertSame(bug, aborted.get(5, TimeUnit.SECONDS));
    assertEquals(1, loop.handlerFailures());
    List<ILoggingEvent> errors = errors();
    assertEquals(1, errors.size());
    assertEquals(IllegalStateException.class.getName(), errors.get(0).getThrowableProxy().getClassName());
  }

  @Test
  void aFloodOfFailingHandlersIsCountedInFullButLoggedAtMostOnceASecond() throws Exception {
    long began = System.nanoTime();
    List<CompletableFuture<Throwable>> aborts = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      CompletableFuture<Throwable> aborted = new CompletableFuture<>();
      aborts.add(aborted);
      connectedHandler(key -> {
        throw new IllegalStateException("bug");
      }, aborted::complete).write(ByteBuffer.wrap(new byte[] {1}));
    }
    CompletableFuture.allOf(aborts.toArray(CompletableFuture[]::new)).get(10, TimeUnit.SECONDS);
    long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - began);

    assertEquals(50, loop.handlerFailures());
    int reports = errors().size();
    assertTrue(reports >= 1 && reports <= seconds + 1, reports + " reports in " + seconds + " s");
  }

  @Test
  void anIoExceptionIsThePeersDoingAbortedButNotCountedAsAFailure() throws Exception {
    IOException reset = new IOException("Connection reset by peer");
    CompletableFuture<Throwable> aborted = new CompletableFuture<>();
    connectedHandler(key -> {
      throw reset;
    }, aborted::complete).write(ByteBuffer.wrap(new byte[] {1}));

    assertSame(reset, aborted.get(5, TimeUnit.SECONDS));
    assertEquals(0, loop.handlerFailures());
    assertEquals(List.of(), errors());
  }

  @Test
  void anAbortThatThrowsClosesTheChannelAndTheLoopGoesOn() throws Exception {
    SocketChannel peer = connectedHandler(key -> {
      throw new IllegalStateException("a bug in ready");
    }, cause -> {
      throw new IllegalStateException("a bug in abort");
    });
    peer.write(ByteBuffer.wrap(new byte[] {1}));

    peer.socket().setSoTimeout(5_000);
    assertEquals(-1, peer.socket().getInputStream().read(), "the channel is closed");
    CompletableFuture<Boolean> stillRunning = new CompletableFuture<>();
    loop.execute(() -> stillRunning.complete(true));
    assertTrue(stillRunning.get(5, TimeUnit.SECONDS));
    assertEquals(2, loop.handlerFailures());
  }

  @Test
  void handshakesPastTheTurnsShareWaitForTheNextTurnAndEveryTurnAllowsOne() throws Exception {
    CompletableFuture<List<Boolean>> seen = new CompletableFuture<>();
    loop.execute(() -> {
      List<Boolean> allowed = new ArrayList<>();
      allowed.add(loop.mayHandshake());
      loop.handshakeTook(EventLoop.HANDSHAKE_NANOS_PER_TURN / 2);
      allowed.add(loop.mayHandshake());
      loop.handshakeTook(EventLoop.HANDSHAKE_NANOS_PER_TURN);
      allowed.add(loop.mayHandshake());
      long turn = loop.turn();
      laterTurn(turn, () -> {
        allowed.add(loop.mayHandshake());
        seen.complete(allowed);
      });
    });
    assertEquals(List.of(true, true, false, true), seen.get(5, TimeUnit.SECONDS));
  }

  @Test
  void aHandshakeStepPastTheTurnsShareIsNotRunUntilTheNextTurn() throws Exception {
    CompletableFuture<List<String>> seen = new CompletableFuture<>();
    loop.execute(() -> {
      List<String> log = new ArrayList<>();
      try {
        // the first step of a turn always runs, and what it cost is counted against the turn (a failed step too)
        log.add("first " + loop.handshakeStep(() -> {
          log.add("first ran");
          loop.handshakeTook(EventLoop.HANDSHAKE_NANOS_PER_TURN);
          throw new java.io.IOException("refused");
        }));
      } catch (java.io.IOException e) {
        log.add("first threw " + e.getMessage());
      }
      try {
        log.add("second " + loop.handshakeStep(() -> log.add("second ran")));
        long turn = loop.turn();
        laterTurn(turn, () -> {
          try {
            log.add("next turn " + loop.handshakeStep(() -> log.add("next turn ran")));
          } catch (java.io.IOException e) {
            log.add("next turn threw");
          }
          seen.complete(log);
        });
      } catch (java.io.IOException e) {
        seen.completeExceptionally(e);
      }
    });
    assertEquals(List.of("first ran", "first threw refused", "second false", "next turn ran", "next turn true"),
        seen.get(5, TimeUnit.SECONDS));
  }

  @Test
  void turnEndTasksRunAfterTheTurnsOtherWorkInTheSameTurnAndOneThatThrowsIsCounted() throws Exception {
    CompletableFuture<List<String>> seen = new CompletableFuture<>();
    loop.execute(() -> {
      List<String> log = new ArrayList<>();
      long turn = loop.turn();
      loop.atTurnEnd(() -> {
        log.add("end 1 in turn " + (loop.turn() - turn));
        loop.atTurnEnd(() -> {
          log.add("end 2 in turn " + (loop.turn() - turn));
          seen.complete(log);
        });
        throw new IllegalStateException("a bug at the turn's end");
      });
      loop.execute(() -> log.add("task in turn " + (loop.turn() - turn)));
      log.add("first task");
    });
    assertEquals(List.of("first task", "task in turn 0", "end 1 in turn 0", "end 2 in turn 0"),
        seen.get(5, TimeUnit.SECONDS));
    assertEquals(1, loop.handlerFailures());
  }

  /** Runs the task in a turn after {@code turn}: a timer a millisecond away, again until the turn is another. */
  private void laterTurn(long turn, Runnable task) {
    loop.schedule(TimeUnit.MILLISECONDS.toNanos(1), () -> {
      if (loop.turn() == turn) laterTurn(turn, task);
      else task.run();
    });
  }

  @Test
  void tlsBuffersAreReusedBySizeAndOnlyWhileFewAreKept() {
    TlsBuffers buffers = new TlsBuffers();
    ByteBuffer first = buffers.allocate(4096);
    assertTrue(first.isDirect());
    first.put((byte) 1);
    buffers.free(first);
    ByteBuffer again = buffers.allocate(4096);
    assertSame(first, again, "the freed buffer is handed out again");
    assertEquals(0, again.position(), "cleared");
    assertTrue(buffers.allocate(8192) != again);
    for (int i = 0; i < 1000; i++) buffers.free(ByteBuffer.allocateDirect(17 * 1024));
    assertEquals(64, buffers.kept(), "a burst of frees keeps a bounded number");
    buffers.free(ByteBuffer.allocate(4096));
    buffers.free(ByteBuffer.allocateDirect(1000));
    assertEquals(64, buffers.kept(), "heap buffers and odd sizes are left to the GC");
  }

  @Test
  void cancelledTimersNeverRunAndDoNotPileUpBehindLiveOnes() throws Exception {
    CompletableFuture<Integer> mostHeld = new CompletableFuture<>();
    CompletableFuture<String> ran = new CompletableFuture<>();
    loop.execute(() -> {
      long hour = TimeUnit.HOURS.toNanos(1);
      for (int i = 0; i < 1000; i++) loop.schedule(hour, () -> ran.complete("a live timer an hour away"));
      int most = 0;
      for (int i = 0; i < 100_000; i++) {
        loop.schedule(hour, () -> ran.complete("a cancelled timer")).cancel();
        most = Math.max(most, loop.pendingTimers());
      }
      loop.schedule(0, () -> ran.complete("a cancelled timer")).cancel();
      loop.schedule(1, () -> ran.complete("the due one"));
      mostHeld.complete(most);
    });

    assertTrue(mostHeld.get(10, TimeUnit.SECONDS) <= 2 * 1000 + 1, "held " + mostHeld.get() + " timers");
    assertEquals("the due one", ran.get(5, TimeUnit.SECONDS));
  }

  /** An idle node's loops must not cost CPU: a loop without sweepables or timers waits for something to happen. */
  @Test
  void aLoopWakesToSweepOnlyWhileItHasSweepables() throws Exception {
    assertTrue(turnsWhileIdle(500) <= 2, "an idle loop turned by itself");

    java.util.concurrent.atomic.AtomicInteger sweeps = new java.util.concurrent.atomic.AtomicInteger();
    EventLoop.Sweepable sweepable = now -> sweeps.incrementAndGet();
    onLoop(() -> loop.addSweepable(sweepable));
    dev.fulcrum.testing.Eventually.await(java.time.Duration.ofSeconds(5), "three sweeps", () -> sweeps.get() >= 3);
    onLoop(() -> loop.removeSweepable(sweepable));
    int swept = sweeps.get();
    assertTrue(turnsWhileIdle(500) <= 2, "the loop turned after its last sweepable went");
    assertEquals(swept, sweeps.get());
  }

  @Test
  void aTaskQueuedWhileATaskDeregistersAChannelStillWakesTheIdleLoop() throws Exception {
    // deregister's own selectNow takes the wake-up that another thread's execute() gave meanwhile; a loop that sleeps
    // without a timeout (no sweepables, no timers) must still wake for the next task. It slept for good: a listener's
    // unbind hung a node's stop.
    SocketChannel client = connectedHandler(key -> {}, cause -> {});
    SocketChannel accepted = channels.get(channels.size() - 1);
    java.util.concurrent.CountDownLatch queued = new java.util.concurrent.CountDownLatch(1);
    CompletableFuture<Void> first = new CompletableFuture<>();
    loop.execute(() -> {
      CompletableFuture.runAsync(() -> {
        loop.execute(() -> first.complete(null));
        queued.countDown();
      });
      try {
        assertTrue(queued.await(5, TimeUnit.SECONDS));
        loop.deregister(accepted);
      } catch (InterruptedException | IOException e) {
        first.completeExceptionally(e);
      }
    });
    first.get(5, TimeUnit.SECONDS);
    assertTrue(client.isOpen());
    CompletableFuture<Void> next = new CompletableFuture<>();
    CompletableFuture.delayedExecutor(100, TimeUnit.MILLISECONDS).execute(() -> loop.execute(() -> next.complete(null)));
    next.get(5, TimeUnit.SECONDS);
  }

  /** The loop's turns in {@code millis} of nothing to do, apart from the one that answers the question. */
  private long turnsWhileIdle(long millis) throws Exception {
    long before = onLoop(loop::turn);
    CompletableFuture.runAsync(() -> {}, CompletableFuture.delayedExecutor(millis, TimeUnit.MILLISECONDS)).get(5, TimeUnit.SECONDS);
    return onLoop(loop::turn) - before - 1;
  }

  private <T> T onLoop(java.util.function.Supplier<T> what) throws Exception {
    CompletableFuture<T> answer = new CompletableFuture<>();
    loop.execute(() -> answer.complete(what.get()));
    return answer.get(5, TimeUnit.SECONDS);
  }

  private void onLoop(Runnable what) throws Exception {
    onLoop(() -> {
      what.run();
      return null;
    });
  }

  /**
   * Registers the server side of a new connection on the loop with a handler that runs {@code ready}, and whose abort
   * runs {@code abort} and then closes the channel as real handlers do; returns the client side.
   */
  private SocketChannel connectedHandler(Ready ready, Consumer<Throwable> abort) throws Exception {
    SocketChannel client = SocketChannel.open(server.getLocalAddress());
    SocketChannel accepted = server.accept();
    channels.add(client);
    channels.add(accepted);
    accepted.configureBlocking(false);
    CompletableFuture<SelectionKey> registered = new CompletableFuture<>();
    loop.execute(() -> {
      try {
        registered.complete(loop.register(accepted, SelectionKey.OP_READ, new EventLoop.Handler() {
          @Override
          public void ready(SelectionKey key) throws IOException {
            ready.ready(key);
          }

          @Override
          public void abort(Throwable cause) {
            abort.accept(cause);
            try {
              accepted.close();
            } catch (IOException ignored) {
              // closed is all a handler's abort has to reach
            }
          }
        }));
      } catch (IOException e) {
        registered.completeExceptionally(e);
      }
    });
    registered.get(5, TimeUnit.SECONDS);
    return client;
  }

  private List<ILoggingEvent> errors() {
    return logged.list.stream().filter(e -> e.getLevel() == Level.ERROR).toList();
  }
}
