package dev.fulcrum.nio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.testing.Eventually;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ResolverTest {
  private static final InetAddress ADDRESS = InetAddress.getLoopbackAddress();

  /** Lookups block until released, so the test decides when they end. */
  private final CountDownLatch release = new CountDownLatch(1);
  private final AtomicInteger lookups = new AtomicInteger();
  private final AtomicInteger running = new AtomicInteger();
  private final AtomicInteger mostRunning = new AtomicInteger();

  @AfterEach
  void releaseLookups() {
    release.countDown();
  }

  private InetAddress blockingLookup(String host) throws UnknownHostException {
    lookups.incrementAndGet();
    mostRunning.accumulateAndGet(running.incrementAndGet(), Math::max);
    try {
      if (!release.await(10, TimeUnit.SECONDS)) throw new IllegalStateException("never released");
      if (host.startsWith("unknown")) throw new UnknownHostException(host);
      return ADDRESS;
    } catch (InterruptedException e) {
      throw new IllegalStateException(e);
    } finally {
      running.decrementAndGet();
    }
  }

  @Test
  void concurrentLookupsOfOneNameShareOneLookup() throws Exception {
    Resolver resolver = new Resolver("resolver-test", 4, 16, this::blockingLookup);
    List<CompletableFuture<InetAddress>> waiters = new ArrayList<>();
    for (int i = 0; i < 100; i++) waiters.add(resolver.resolve("backend.example"));
    release.countDown();

    for (CompletableFuture<InetAddress> waiter : waiters) assertSame(ADDRESS, waiter.get(5, TimeUnit.SECONDS));
    assertEquals(1, lookups.get());
  }

  @Test
  void atMostTheThreadsLookUpAtOnceAndBeyondTheQueueLookupsFailAtOnce() throws Exception {
    Resolver resolver = new Resolver("resolver-test", 2, 2, this::blockingLookup);
    List<CompletableFuture<InetAddress>> taken = new ArrayList<>();
    for (int i = 0; i < 4; i++) taken.add(resolver.resolve("backend-" + i + ".example"));
    CompletableFuture<InetAddress> tooMany = resolver.resolve("backend-4.example");

    assertTrue(tooMany.isCompletedExceptionally(), "failed at once");
    ExecutionException failure = assertThrows(ExecutionException.class, tooMany::get);
    assertEquals(Resolver.BACKED_UP, failure.getCause().getMessage());

    Eventually.await(Duration.ofSeconds(5), "both threads looking up", () -> running.get() == 2);
    release.countDown();
    for (CompletableFuture<InetAddress> lookup : taken) assertSame(ADDRESS, lookup.get(5, TimeUnit.SECONDS));
    assertEquals(2, mostRunning.get());
    assertSame(ADDRESS, resolver.resolve("backend-4.example").get(5, TimeUnit.SECONDS), "free again once drained");
  }

  @Test
  void aFailedLookupFailsEveryWaiterAndIsNotKept() throws Exception {
    Resolver resolver = new Resolver("resolver-test", 4, 16, this::blockingLookup);
    CompletableFuture<InetAddress> first = resolver.resolve("unknown.example");
    CompletableFuture<InetAddress> second = resolver.resolve("unknown.example");
    release.countDown();

    for (CompletableFuture<InetAddress> waiter : List.of(first, second)) {
      ExecutionException failure = assertThrows(
          ExecutionException.class, () -> waiter.get(5, TimeUnit.SECONDS));
      assertInstanceOf(UnknownHostException.class, failure.getCause());
    }
    assertThrows(
        ExecutionException.class, () -> resolver.resolve("unknown.example").get(5, TimeUnit.SECONDS));
    assertEquals(2, lookups.get(), "looked up again, not answered from a kept failure");
  }
}
