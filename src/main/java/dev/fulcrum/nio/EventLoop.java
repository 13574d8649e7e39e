package dev.fulcrum.nio;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectableChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.PriorityQueue;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One thread with one selector that owns its channels: every handler and timer runs on this thread, so connection
 * state needs no locks. Other threads hand work in through {@link #execute}.
 */
public final class EventLoop implements Runnable {
  private static final Logger log = LoggerFactory.getLogger(EventLoop.class);
  /** How often idle connections are looked for; idle timeouts are precise to this. */
  private static final long SWEEP_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
  /** Buffers kept for reuse: enough for the connections of a busy loop that are mid-transfer at any one time. */
  private static final int POOLED_BUFFERS = 256;
  /**
   * How much TLS handshake work one turn of the loop does before the other handshakes ready wait for the next turn. A
   * full handshake costs a millisecond or more of CPU (JSSE): without a bound, a burst of new connections (64 at once
   * when a load test starts) held every request of the connections already open until the whole burst was done, half
   * a second; with it, each turn serves every ready request and then at least one handshake.
   */
  static final long HANDSHAKE_NANOS_PER_TURN = TimeUnit.MICROSECONDS.toNanos(500);

  /** Something registered on this loop's selector; the key's attachment. */
  public interface Handler {
    void ready(SelectionKey key) throws IOException;

    /** The loop is stopping, or {@link #ready} threw: release everything. */
    void abort(Throwable cause);
  }

  /** Something the loop checks every sweep, e.g. a connection's idle time. */
  public interface Sweepable {
    void sweep(long now);
  }

  /** A task scheduled on this loop; cancel it once it is not wanted, or it keeps its task alive until it is due. */
  public final class Timer implements Comparable<Timer> {
    private final long deadline;
    private final long seq;
    /** Null once it ran or was cancelled. */
    private Runnable task;

    private Timer(long deadline, long seq, Runnable task) {
      this.deadline = deadline;
      this.seq = seq;
      this.task = task;
    }

    /** The task will not run, if it has not yet; loop thread only. */
    public void cancel() {
      if (task == null) return;
      task = null;
      // left in the queue, as a heap search per cancel would cost more than the rare purge
      if (++cancelledTimers > timers.size() / 2) {
        timers.removeIf(timer -> timer.task == null);
        cancelledTimers = 0;
      }
    }

    @Override
    public int compareTo(Timer other) {
      int byDeadline = Long.compare(deadline, other.deadline);
      return byDeadline != 0 ? byDeadline : Long.compare(seq, other.seq);
    }
  }

  private final Selector selector;
  private final Thread thread;
  private final int bufferSize;
  private final Queue<Runnable> tasks = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean wakeupPending = new AtomicBoolean();
  private final PriorityQueue<Timer> timers = new PriorityQueue<>();
  private final ArrayDeque<ByteBuffer> buffers = new ArrayDeque<>();
  private final Set<Sweepable> sweepables = new HashSet<>();
  /** Work left for the end of the turn ({@link #atTurnEnd}), in the order it was asked for. */
  private final ArrayList<Runnable> turnEnd = new ArrayList<>();
  private final RateLimitedCounter handlerFailures;
  private long timerSeq;
  private final TlsBuffers tlsBuffers = new TlsBuffers();
  /** Handshake work done in this turn, against {@link #HANDSHAKE_NANOS_PER_TURN}. */
  private long handshakeNanos;
  private long turns;
  /** Timers in the queue whose task is gone; purged once they are half of it. */
  private int cancelledTimers;
  private long now = System.nanoTime();
  private long nextSweep = now + SWEEP_NANOS;
  private volatile boolean running = true;

  EventLoop(String name, int bufferSize) {
    try {
      this.selector = Selector.open();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open a selector", e);
    }
    this.bufferSize = bufferSize;
    this.handlerFailures = new RateLimitedCounter((count, sample) -> log.error(
        "event loop {}: {} handler(s) threw and were aborted; the latest:", name, count, sample));
    this.thread = new Thread(this, name);
    thread.setDaemon(true);
    thread.start();
  }

  /** Runs the task on this loop's thread, soon. */
  public void execute(Runnable task) {
    tasks.add(task);
    if (Thread.currentThread() != thread && wakeupPending.compareAndSet(false, true)) selector.wakeup();
  }

  /** The time the current event or task began; cheaper than asking the clock per read. Loop thread only. */
  public long now() {
    return now;
  }

  /**
   * Runs the task once this turn's ready channels, tasks and timers were served, before the loop waits again; a task
   * added by one of these runs in the same turn. For output that several events of a turn add to: a connection
   * writes it once (one TLS record, one syscall) instead of once per event. Loop thread only.
   */
  public void atTurnEnd(Runnable task) {
    turnEnd.add(task);
  }

  /** Loop thread only. The returned key's attachment is the handler. */
  public SelectionKey register(SelectableChannel channel, int ops, Handler handler) throws IOException {
    return channel.register(selector, ops, handler);
  }

  /** The channel's key on this loop's selector, or null. */
  public SelectionKey keyOf(SelectableChannel channel) {
    return channel.keyFor(selector);
  }

  /** Removes the channel from this loop's selector at once (not at the next turn), so closing it releases its port. */
  public void deregister(SelectableChannel channel) throws IOException {
    SelectionKey key = channel.keyFor(selector);
    if (key == null) return;
    key.cancel();
    selector.selectNow(this::dispatch);
    // that selectNow also took a wake-up that execute() gave for a task queued meanwhile, and wakeupPending still says
    // one is on its way, so no later execute() would give another: the loop would sleep on its queue. Give it back.
    if (wakeupPending.get()) selector.wakeup();
  }

  /** Runs the task on this loop after the delay, unless the timer is cancelled first. Loop thread only. */
  public Timer schedule(long delayNanos, Runnable task) {
    Timer timer = new Timer(now + delayNanos, timerSeq++, task);
    timers.add(timer);
    return timer;
  }

  /** Timers the loop holds on to, cancelled ones not yet purged included. Loop thread only. */
  int pendingTimers() {
    return timers.size();
  }

  /** Loop thread only. While the loop has no sweepables it sleeps until something happens, instead of every sweep. */
  public void addSweepable(Sweepable sweepable) {
    // the first sweep comes a whole sweep after the loop had none: it may have slept long past nextSweep
    if (sweepables.isEmpty()) nextSweep = now + SWEEP_NANOS;
    sweepables.add(sweepable);
  }

  public void removeSweepable(Sweepable sweepable) {
    sweepables.remove(sweepable);
  }

  /** A cleared direct buffer of the loop's size. Loop thread only; give it back with {@link #release}. */
  public ByteBuffer acquire() {
    ByteBuffer buffer = buffers.pollLast();
    return buffer != null ? buffer : ByteBuffer.allocateDirect(bufferSize);
  }

  public void release(ByteBuffer buffer) {
    buffer.clear();
    if (buffers.size() < POOLED_BUFFERS) buffers.addLast(buffer);
  }

  /** The encrypted-side buffers of this loop's TLS connections. Loop thread only. */
  public TlsBuffers tlsBuffers() {
    return tlsBuffers;
  }

  /** A step of I/O work, such as a TLS handshake's. */
  public interface Step {
    void run() throws IOException;
  }

  /**
   * Runs a step of a TLS handshake if the turn's share of handshake time is not spent, and counts its time against
   * it: a handshake costs as much as dozens of requests, so a burst of new connections must not hold the open ones up.
   * False when the step was not run: the handler then leaves its socket unread, and the selector, level-triggered,
   * reports it again at the next turn, after the requests that are ready then. Every turn allows one step. Loop thread
   * only; one rule for every listener that terminates TLS (HTTP and L4).
   */
  public boolean handshakeStep(Step step) throws IOException {
    if (!mayHandshake()) return false;
    long began = System.nanoTime();
    try {
      step.run();
    } finally {
      handshakeTook(System.nanoTime() - began);
    }
    return true;
  }

  /** Whether the turn's share of handshake time is not spent yet (see {@link #handshakeStep}). */
  boolean mayHandshake() {
    return handshakeNanos < HANDSHAKE_NANOS_PER_TURN;
  }

  /** How many turns the loop has begun; for tests. Loop thread only. */
  long turn() {
    return turns;
  }

  /** A handshake step took this long (see {@link #handshakeStep}). */
  void handshakeTook(long nanos) {
    handshakeNanos += nanos;
  }

  /** Handlers aborted because they threw a RuntimeException: bugs, not the peers' doing. */
  public long handlerFailures() {
    return handlerFailures.total();
  }

  /** Stops the loop: every registered handler is aborted and the selector closed. */
  void stop() {
    running = false;
    selector.wakeup();
  }

  @Override
  public void run() {
    try {
      while (running) {
        handshakeNanos = 0;
        turns++;
        if (tasks.isEmpty()) selector.select(this::dispatch, selectTimeoutMillis());
        else selector.selectNow(this::dispatch);
        wakeupPending.set(false);
        runTasks();
        now = System.nanoTime();
        runTimers();
        if (now >= nextSweep) {
          nextSweep = now + SWEEP_NANOS;
          for (Sweepable s : sweepables.toArray(Sweepable[]::new)) sweep(s);
        }
        runTurnEnd();
      }
    } catch (IOException | ClosedSelectorException e) {
      log.error("event loop {} stopped: {}", thread.getName(), e.toString());
    } finally {
      abortAll(new IOException("fulcrum is stopping"));
    }
  }

  /** A bug in one connection's sweep must not end the loop and every connection on it. */
  private void sweep(Sweepable sweepable) {
    try {
      sweepable.sweep(now);
    } catch (RuntimeException e) {
      handlerFailures.increment(e);
    }
  }

  private void dispatch(SelectionKey key) {
    now = System.nanoTime();
    Handler handler = (Handler) key.attachment();
    try {
      handler.ready(key);
    } catch (IOException e) {
      abort(key, handler, e);
    } catch (RuntimeException e) {
      // unlogged, a bug would pass for a peer's reset
      handlerFailures.increment(e);
      abort(key, handler, e);
    }
  }

  /** An abort that throws would escape the selector and end the loop with all its connections: close the channel. */
  private void abort(SelectionKey key, Handler handler, Throwable cause) {
    try {
      handler.abort(cause);
    } catch (RuntimeException e) {
      handlerFailures.increment(e);
      try {
        key.channel().close();
      } catch (IOException ignored) {
        // nothing else can be released
      }
    }
  }

  /** Until the next sweep or timer; 0 (no timeout) when there is neither: an idle loop does not wake for nothing. */
  private long selectTimeoutMillis() {
    Timer first = firstTimer();
    if (sweepables.isEmpty() && first == null) return 0;
    long until = sweepables.isEmpty() ? first.deadline : nextSweep;
    if (first != null && first.deadline < until) until = first.deadline;
    return Math.max(1, TimeUnit.NANOSECONDS.toMillis(until - System.nanoTime() + 999_999));
  }

  private void runTasks() {
    Runnable task;
    while ((task = tasks.poll()) != null) {
      now = System.nanoTime();
      try {
        task.run();
      } catch (RuntimeException e) {
        log.error("event loop task failed", e);
      }
    }
  }

  private void runTurnEnd() {
    // by index: a task may add another
    for (int i = 0; i < turnEnd.size(); i++) {
      try {
        turnEnd.get(i).run();
      } catch (RuntimeException e) {
        handlerFailures.increment(e);
      }
    }
    turnEnd.clear();
  }

  private void runTimers() {
    Timer first;
    while ((first = firstTimer()) != null && first.deadline <= now) {
      timers.poll();
      Runnable task = first.task;
      first.task = null;
      try {
        task.run();
      } catch (RuntimeException e) {
        log.error("event loop timer failed", e);
      }
    }
  }

  /** The next timer still to run, after dropping cancelled ones ahead of it. */
  private Timer firstTimer() {
    Timer first;
    while ((first = timers.peek()) != null && first.task == null) {
      timers.poll();
      cancelledTimers--;
    }
    return first;
  }

  private void abortAll(Throwable cause) {
    for (SelectionKey key : selector.keys()) {
      if (key.attachment() instanceof Handler handler) abort(key, handler, cause);
    }
    try {
      selector.close();
    } catch (IOException ignored) {
      // the loop is gone either way
    }
  }
}
