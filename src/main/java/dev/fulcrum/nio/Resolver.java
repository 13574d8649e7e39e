package dev.fulcrum.nio;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Looks up host names off the event loops, on a few threads with a bounded queue, and with one lookup in flight per
 * name however many connects wait for it: a slow DNS server then costs a few threads and fails connects fast, instead
 * of parking one thread per connect.
 */
final class Resolver {
  static final String BACKED_UP = "host name lookups are backed up";

  /** A blocking lookup, as {@link InetAddress#getByName}. */
  interface Lookup {
    InetAddress lookup(String host) throws UnknownHostException;
  }

  private final Lookup lookup;
  private final ThreadPoolExecutor threads;
  private final ConcurrentHashMap<String, CompletableFuture<InetAddress>> inFlight = new ConcurrentHashMap<>();

  /** {@code threads} lookups at a time and {@code queued} more names waiting; beyond that lookups fail at once. */
  Resolver(String name, int threads, int queued, Lookup lookup) {
    this.lookup = lookup;
    AtomicInteger started = new AtomicInteger();
    this.threads = new ThreadPoolExecutor(threads, threads, 1, TimeUnit.MINUTES, new ArrayBlockingQueue<>(queued), task -> {
      Thread thread = new Thread(task, name + "-" + started.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    });
    // a node whose backends are all IP literals keeps no resolver thread
    this.threads.allowCoreThreadTimeOut(true);
  }

  /** The address of {@code host}; completes on a resolver thread, or on the caller's when lookups are backed up. */
  CompletableFuture<InetAddress> resolve(String host) {
    CompletableFuture<InetAddress> mine = new CompletableFuture<>();
    CompletableFuture<InetAddress> running = inFlight.putIfAbsent(host, mine);
    if (running != null) return running;
    try {
      threads.execute(() -> lookUp(host, mine));
    } catch (RejectedExecutionException e) {
      settle(host, mine, null, new RejectedExecutionException(BACKED_UP, e));
    }
    return mine;
  }

  private void lookUp(String host, CompletableFuture<InetAddress> waiters) {
    try {
      settle(host, waiters, lookup.lookup(host), null);
    } catch (UnknownHostException | RuntimeException e) {
      settle(host, waiters, null, e);
    }
  }

  /** Forgotten before any waiter hears, so the next to ask looks up afresh: answers are cached by the JVM, not here. */
  private void settle(String host, CompletableFuture<InetAddress> waiters, InetAddress address, Throwable failure) {
    inFlight.remove(host, waiters);
    if (failure == null) waiters.complete(address);
    else waiters.completeExceptionally(failure);
  }
}
