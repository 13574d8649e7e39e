package dev.fulcrum.backend;

import dev.fulcrum.config.HealthCheckSettings;
import dev.fulcrum.config.HostPort;
import dev.fulcrum.nio.EventLoop;
import dev.fulcrum.nio.EventLoops;
import dev.fulcrum.tls.BackendTls;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * Active health checks on the node's event loops, through the data plane's non-blocking {@link dev.fulcrum.nio.Connector}: a check
 * is a connect, or a minimal HTTP/1.1 exchange parsed by {@code http.wire}, on a fresh connection each time (as HAProxy
 * does) so that it sees what a new client connection would see. A check costs no thread, stream or actor of its own,
 * which is what lets a node check a thousand backends every two seconds for a few percent of a core. A backend's
 * checks are timed on its loop too ({@link #schedule}), one after the other, so that a check costs no cross-thread
 * hand-off to start; each outcome is handed to a listener (the {@link BackendActor}, which owns what it means). The
 * checks of a loop start and time out on a shared grid ({@link CheckGrid}), and a backend keeps one
 * {@link ProbeConnection} for all its checks, so that what a check allocates is the JDK's socket and little else.
 */
public final class HealthProbes {
  /** The first check runs within this of a backend's appearance, or within its interval if that is shorter. */
  static final Duration FIRST_CHECK_SPREAD = Duration.ofSeconds(1);
  /** Each next check runs up to this fraction of the interval later than the interval, as Envoy's interval jitter. */
  static final double INTERVAL_JITTER = 0.1;
  private static final long CHECK_TICK_NANOS = Duration.ofMillis(50).toNanos();

  private final EventLoops loops;
  private final AtomicInteger nextLoop = new AtomicInteger();
  private final AtomicInteger openConnections = new AtomicInteger();
  /** Each loop's grids (one per tick in use, usually one); each list is touched by its loop only. */
  private final Map<EventLoop, List<CheckGrid>> grids = new ConcurrentHashMap<>();
  /** The loops, once started: {@link EventLoops#all()} copies its array under a lock on every call. */
  private volatile EventLoop[] started;

  /** Checks on {@code loops}, which start with the first check if no listener has started them yet. */
  public HealthProbes(EventLoops loops) {
    this.loops = loops;
  }

  /** What a check found. */
  public sealed interface Outcome {}

  /** The backend answered as expected. */
  public record Passed() implements Outcome {}

  /** Every pass is this one: a check allocates no outcome. */
  static final Passed PASSED = new Passed();

  /** A definite answer that is not the expected one: refused, reset, wrong status or body, malformed response. */
  public record Failed(String reason) implements Outcome {}

  /** No answer within the check's timeout; its connection is closed by then. */
  public record TimedOut(String reason) implements Outcome {}

  /** A check in flight. */
  public interface Probe {
    /** Completes on an event loop, never exceptionally, once the check's connection is closed. */
    CompletionStage<Outcome> outcome();

    /**
     * Ends the check and closes its connection, from any thread. Its outcome then never completes: the actor that
     * cancels is stopping, and would only get a dead letter.
     */
    void cancel();
  }

  /** A backend's checks, one after the other: the next starts an interval after the last ended. */
  public interface Schedule {
    /** The next checks use these settings (and {@link #request}'s request for them); from any thread. */
    void update(HealthCheckSettings check, byte[] request);

    /** The next checks speak this TLS (null: plain), as the pool's connections to its backends now do; any thread. */
    default void updateTls(BackendTls tls) {}

    /** No more checks; the one in flight, if any, is ended, its connection closed and its outcome dropped. */
    void cancel();

    /**
     * The backend's health as its owner sees it now (told after each transition, from any thread): outcomes that could
     * not change what the owner knows are then not handed on (see {@link #redundant}).
     */
    void healthIs(Health health);
  }

  /**
   * Whether an outcome would tell a {@link BackendActor} nothing: a pass after a pass while it holds the backend up,
   * or a failure after a failure while it holds it down. Its counters then stay as they are (a pass after a pass finds
   * no failure to forget and counts passes that only matter while down; a failure after a failure while down finds no
   * pass to forget), so dropping it is exact, and a steady pool, all up or all down, costs its actors no message at
   * all. A view that lags a transition only ever delays the next transition by a check, never causes a wrong one.
   */
  static boolean redundant(Boolean previousPassed, boolean passed, Health health) {
    if (previousPassed == null || previousPassed != passed) return false;
    return passed ? health == Health.UP : health == Health.DOWN;
  }

  /** When the first check runs, for a uniform {@code random} in [0, 1). */
  static Duration firstCheckDelay(Duration interval, double random) {
    Duration spread = interval.compareTo(FIRST_CHECK_SPREAD) < 0 ? interval : FIRST_CHECK_SPREAD;
    return Duration.ofNanos((long) (spread.toNanos() * random));
  }

  /**
   * The interval before the next check, as HAProxy's {@code inter}, {@code fastinter} and {@code downinter}: a backend
   * that is down and failed again waits {@code down-interval}; one whose last check disagreed with its state (an up
   * backend failing, a down one passing: it is on its way to {@code fall} or {@code rise}) waits {@code fast-interval};
   * an up (or not yet decided) backend that passed waits {@code interval}. The health is the owner's view, which lags
   * the check that changes it by a message: the check that takes a backend down is still followed by a fast one.
   */
  static Duration nextInterval(HealthCheckSettings check, Health health, boolean passed) {
    if (health == Health.DOWN) return passed ? check.effectiveFastInterval() : check.effectiveDownInterval();
    return passed ? check.interval() : check.effectiveFastInterval();
  }

  /** How long after a check ended the next one runs, for a uniform {@code random} in [0, 1). */
  static Duration nextCheckDelay(Duration interval, double random) {
    return interval.plusNanos((long) (interval.toNanos() * INTERVAL_JITTER * random));
  }

  /**
   * Checks {@code backend} from now on until cancelled: the first check at a random moment within
   * {@link #firstCheckDelay}, so that backends and nodes do not check in lockstep, each next one
   * {@link #nextCheckDelay} after the previous ended. {@code listener} hears every outcome, on an event loop: it must
   * not block (telling an actor is what it is for).
   */
  public Schedule schedule(HostPort backend, HealthCheckSettings check, byte[] request, Consumer<Outcome> listener) {
    return schedule(backend, check, request, null, listener, outcome -> {});
  }

  /**
   * As above, over TLS when {@code tls} is not null (a TCP check is a handshake, an HTTP check an HTTPS request);
   * {@code counted} hears every outcome, also those not handed to {@code listener} (for the metrics; on the event loop,
   * so it must only count).
   */
  public Schedule schedule(HostPort backend, HealthCheckSettings check, byte[] request, BackendTls tls,
      Consumer<Outcome> listener, Consumer<Outcome> counted) {
    EventLoop loop = nextLoop();
    if (loop == null) return new Schedule() {
      @Override
      public void update(HealthCheckSettings check, byte[] request) {}

      @Override
      public void cancel() {}

      @Override
      public void healthIs(Health health) {}
    };
    Checks checks = new Checks(loop, backend, check, request, tls, listener, counted);
    loop.execute(checks::first);
    return checks;
  }

  /** Probe connections open on this node right now. */
  public int openConnections() {
    return openConnections.get();
  }

  /**
   * What a check sends, built once per check settings rather than per check: an HTTP check's request, a gRPC check's
   * HealthCheckRequest message, nothing for TCP.
   */
  public static byte[] requestFor(HostPort backend, HealthCheckSettings check) {
    return switch (check.kind()) {
      case HTTP -> request(backend, check);
      case GRPC -> GrpcHealthMessages.request(check.service());
      case TCP -> null;
    };
  }

  /** The request an HTTP check sends to {@code backend}, built once per check settings rather than per check. */
  public static byte[] request(HostPort backend, HealthCheckSettings check) {
    StringBuilder head = new StringBuilder(128)
        .append(check.method()).append(' ').append(check.path()).append(" HTTP/1.1\r\n")
        .append("Host: ").append(check.host().orElse(backend.toString())).append("\r\n");
    boolean userAgent = false;
    for (Map.Entry<String, String> field : check.headers().entrySet()) {
      head.append(field.getKey()).append(": ").append(field.getValue()).append("\r\n");
      userAgent |= field.getKey().equalsIgnoreCase("user-agent");
    }
    if (!userAgent) head.append("User-Agent: fulcrum-health-check\r\n");
    head.append("Connection: close\r\n\r\n");
    return head.toString().getBytes(StandardCharsets.ISO_8859_1);
  }

  /**
   * Starts one check of {@code backend}; {@code request} is {@link #request}'s for an HTTP check (ignored for TCP).
   * Never blocks: the check runs on an event loop.
   */
  public Probe start(HostPort backend, HealthCheckSettings check, byte[] request) {
    EventLoop loop = nextLoop();
    if (loop == null) return new Finished(new Failed("fulcrum is stopping"));
    CompletableFuture<Outcome> outcome = new CompletableFuture<>();
    ProbeConnection c = new ProbeConnection(loop, openConnections, outcome::complete, true);
    c.configure(backend.isIpLiteral() ? backend.toSocketAddress() : null, backend.host(), backend.port(), check, request,
        null);
    loop.execute(c::start);
    return new Probe() {
      @Override
      public CompletionStage<Outcome> outcome() {
        return outcome;
      }

      @Override
      public void cancel() {
        loop.execute(c::cancel);
      }
    };
  }

  /** The loop for the next backend or check, or null once the loops have stopped. */
  private EventLoop nextLoop() {
    EventLoop[] all = started;
    if (all == null) {
      try {
        all = loops.all();
      } catch (IllegalStateException stopped) {
        return null;
      }
      started = all;
    }
    return all[Math.floorMod(nextLoop.getAndIncrement(), all.length)];
  }

  /** Where a backend's checks are. */
  private enum ScheduleState {
    /** The next check starts at {@code Checks.startSlot}. */
    WAITING,
    /** A check is in flight; it times out at {@code Checks.deadlineSlot}. */
    RUNNING,
    CANCELLED
  }

  /** The grid of {@code tick} on {@code loop}; loop thread only. */
  private CheckGrid gridFor(EventLoop loop, long tick) {
    List<CheckGrid> ofLoop = grids.computeIfAbsent(loop, l -> new ArrayList<>(1));
    for (CheckGrid grid : ofLoop) {
      if (grid.tick() == tick) return grid;
    }
    CheckGrid grid = new CheckGrid(loop, tick);
    ofLoop.add(grid);
    return grid;
  }

  /**
   * Checks start on a grid of 50 ms (a tenth of the shortest interval if that is shorter): what wakes a loop then is a
   * handful of checks at once rather than one (and their connects end together too), which is most of what a check
   * costs a loop; 10 ms cost a third more on a quiet machine (load-tests/README.md). Timeouts end on the same grid, so
   * a check may run up to a tick longer than its timeout.
   */
  static long tickFor(HealthCheckSettings check) {
    return Math.max(1, Math.min(CHECK_TICK_NANOS, check.shortestInterval().toNanos() / 10));
  }

  /** One backend's {@link Schedule}, confined to its loop but for the calls that hand work to it. */
  private final class Checks implements Schedule, CheckGrid.Member {
    private final EventLoop loop;
    private final HostPort backend;
    /** The backend's address when it is one (not a name to look up for each check). */
    private final InetSocketAddress address;
    private final Consumer<Outcome> listener;
    private final Consumer<Outcome> counted;
    /** The pool's TLS to the backend, as its routing table says now (null: plain). */
    private BackendTls tls;
    private final ProbeConnection connection;
    private HealthCheckSettings check;
    private CheckGrid grid;
    private ScheduleState state = ScheduleState.WAITING;
    private long startSlot = Long.MIN_VALUE;
    private long deadlineSlot = Long.MIN_VALUE;
    /** Whether the last check passed; null before the first. */
    private Boolean lastPassed;
    private volatile Health health = Health.UNKNOWN;

    Checks(EventLoop loop, HostPort backend, HealthCheckSettings check, byte[] request, BackendTls tls,
        Consumer<Outcome> listener, Consumer<Outcome> counted) {
      this.counted = counted;
      this.loop = loop;
      this.tls = tls;
      this.backend = backend;
      this.address = backend.isIpLiteral() ? backend.toSocketAddress() : null;
      this.check = check;
      this.listener = listener;
      this.connection = new ProbeConnection(loop, openConnections, this::ended, false);
      connection.configure(address, backend.host(), backend.port(), check, request, tls);
    }

    void first() {
      if (state == ScheduleState.CANCELLED) return;
      grid = gridFor(loop, tickFor(check));
      arm(firstCheckDelay(check.interval(), ThreadLocalRandom.current().nextDouble()));
    }

    private void arm(Duration delay) {
      state = ScheduleState.WAITING;
      startSlot = grid.slotAt(loop.now() + delay.toNanos());
      grid.add(startSlot, this);
    }

    /** Entries for slots that no longer matter (a check that ended before its deadline, a re-armed start) are ignored. */
    @Override
    public void due(long slot) {
      if (state == ScheduleState.WAITING && slot == startSlot) {
        state = ScheduleState.RUNNING;
        long deadline = loop.now() + check.timeout().toNanos();
        connection.start();
        // most checks (refused ports) have ended by now: they leave no entry behind
        if (state == ScheduleState.RUNNING && connection.running()) {
          deadlineSlot = grid.slotAt(deadline);
          grid.add(deadlineSlot, this);
        }
      } else if (state == ScheduleState.RUNNING && slot == deadlineSlot) {
        connection.timedOut();
      }
    }

    private void ended(Outcome outcome) {
      if (state == ScheduleState.CANCELLED) return;
      boolean passed = outcome instanceof Passed;
      Health now = health;
      arm(nextCheckDelay(nextInterval(check, now, passed), ThreadLocalRandom.current().nextDouble()));
      counted.accept(outcome);
      boolean quiet = redundant(lastPassed, passed, now);
      lastPassed = passed;
      if (!quiet) listener.accept(outcome);
    }

    @Override
    public void healthIs(Health health) {
      this.health = health;
    }

    @Override
    public void update(HealthCheckSettings next, byte[] nextRequest) {
      loop.execute(() -> {
        if (state == ScheduleState.CANCELLED) return;
        check = next;
        boolean wasRunning = connection.running();
        if (wasRunning) connection.cancel();
        connection.configure(address, backend.host(), backend.port(), next, nextRequest, tls);
        // the next check follows the new settings from now on (a check in flight under the old ones is dropped)
        first();
      });
    }

    @Override
    public void updateTls(BackendTls next) {
      loop.execute(() -> {
        tls = next;
        connection.useTls(next);
      });
    }

    @Override
    public void cancel() {
      loop.execute(() -> {
        state = ScheduleState.CANCELLED;
        connection.cancel();
      });
    }
  }

  private record Finished(Outcome result) implements Probe {
    @Override
    public CompletionStage<Outcome> outcome() {
      return CompletableFuture.completedFuture(result);
    }

    @Override
    public void cancel() {}
  }
}
