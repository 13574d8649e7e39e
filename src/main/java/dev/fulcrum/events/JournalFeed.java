package dev.fulcrum.events;

import dev.fulcrum.pool.PoolEntity;
import dev.fulcrum.pool.PoolEvent;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.Offset;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.persistence.query.Sequence;
import org.apache.pekko.persistence.query.javadsl.CurrentEventsByTagQuery;
import org.apache.pekko.persistence.query.javadsl.EventsByTagQuery;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.RestartSettings;
import org.apache.pekko.stream.UniqueKillSwitch;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.RestartSource;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The journaled changes as events: every entity tags its events with {@link #TAG}, and each node reads them back in the
 * journal's global order (one live query per node) and publishes them to its {@link FulcrumEvents} hub. Reading the
 * journal rather than the replicated state means a subscriber sees every change once and in order, also those that
 * replication folds together. The journal's ordering number is the event's {@link FulcrumEvent#offset()}; a reader
 * that lost its connection resumes after the last offset it had ({@link #replay}).
 *
 * <p>The live query polls the database (jdbc-read-journal.refresh-interval, and its journal-sequence actor every
 * query-delay, 250 ms each): it runs only while a subscription of the hub wants journaled changes (the hub says so,
 * {@link EventHub.JournalDemand}), so a node that nobody listens to queries nothing. It starts at the journal's end (it
 * publishes changes from then on: what was committed while nobody listened concerns nobody) and, after a cluster
 * incarnation ended (downed, rejoining) while someone listened, goes on from the last offset it published: the new
 * incarnation catches up on what it missed.
 *
 * <p>Routers never depend on this feed: pool states and route tables reach every node through Distributed Data.
 */
public final class JournalFeed implements EventHub.JournalDemand {
  private static final Logger log = LoggerFactory.getLogger(JournalFeed.class);

  /** The tag of every journaled change that subscribers hear of. */
  public static final String TAG = "fulcrum-change";

  public static final Set<String> TAGS = Set.of(TAG);

  private static final String POOL_PREFIX = PoolEntity.TYPE_KEY.name() + PersistenceId.DefaultSeparator();

  private final FulcrumEvents events;
  private final String readJournal;
  /** The offset of the last event published; -1 until the journal's end was first found. */
  private final AtomicLong last = new AtomicLong(-1);

  // guarded by this
  /** The cluster incarnation whose journal is read, null between incarnations. */
  private ActorSystem<?> system;
  private boolean wanted;
  /** Changes after {@link #last} went unread for want of subscribers: the next query starts at the journal's end. */
  private boolean skipToEnd = true;
  /** While a query runs or is starting: completes once it is under way. */
  private CompletableFuture<Done> live;
  private UniqueKillSwitch query;
  /** Bumped whenever a query stops: one stopped, or superseded while it started, publishes nothing more. */
  private volatile int run;

  /** Reads for {@code events}' hub, whenever it has a subscription that wants journaled changes. */
  public JournalFeed(FulcrumEvents events, String readJournal) {
    this.events = events;
    this.readJournal = readJournal;
    events.followJournal(this);
  }

  /** Follows the journal in this cluster incarnation, while wanted, until the incarnation terminates. */
  public synchronized void start(ActorSystem<?> clusterSystem) {
    stopQuery();
    system = clusterSystem;
    clusterSystem.getWhenTerminated().thenRun(() -> ended(clusterSystem));
    if (wanted) launch();
  }

  @Override
  public synchronized CompletionStage<Done> wanted() {
    wanted = true;
    // between incarnations there is nothing to read; the next one starts reading (see start)
    return system == null ? CompletableFuture.completedFuture(Done.getInstance()) : launch();
  }

  @Override
  public synchronized void unwanted() {
    wanted = false;
    stopQuery();
    skipToEnd = true;
  }

  /** Whether the journal is being read (a query runs or is starting); for tests. */
  public synchronized boolean following() {
    return live != null;
  }

  private synchronized void ended(ActorSystem<?> clusterSystem) {
    if (system != clusterSystem) return;
    stopQuery();
    system = null;
  }

  private void stopQuery() {
    run++;
    if (query != null) query.shutdown();
    query = null;
    // whoever waits for the query hears that there is none (a subscription's confirmation must not wait forever)
    if (live != null) live.complete(Done.getInstance());
    live = null;
  }

  /** Starts the query (holding the lock, with an incarnation), unless it runs; completes once it is under way. */
  private CompletionStage<Done> launch() {
    if (live != null) return live;
    ActorSystem<?> clusterSystem = system;
    int mine = ++run;
    CompletableFuture<Done> started = new CompletableFuture<>();
    live = started;
    long resume = last.get();
    boolean findEnd = skipToEnd || resume < 0;
    // the subscription that wants the journal is here now: what commits from now on is its, though finding the
    // journal's end takes a while (a query, a read journal to create) and more may commit meanwhile
    long wantedAt = System.currentTimeMillis();
    // off the caller's thread (the hub's): the first query of an incarnation creates the read journal
    CompletableFuture.supplyAsync(() -> findEnd
                ? end(clusterSystem, readJournal, Math.max(0, resume), wantedAt)
                : CompletableFuture.completedFuture(resume),
            clusterSystem.executionContext())
        .thenCompose(from -> from)
        .whenComplete((from, failure) -> begin(clusterSystem, mine, started, from, failure));
    return started;
  }

  private synchronized void begin(ActorSystem<?> clusterSystem, int mine, CompletableFuture<Done> started, Long from, Throwable failure) {
    if (mine != run || system != clusterSystem) return;
    if (failure != null) {
      // starting from the journal's start instead would flood the subscribers with the whole history
      log.warn("cannot find the journal's end ({}); change events follow once it can be read",
          dev.fulcrum.Failures.describe(failure));
      if (!clusterSystem.whenTerminated().isCompleted()) {
        clusterSystem.scheduler().scheduleOnce(RETRY, () -> retry(clusterSystem, mine), clusterSystem.executionContext());
      }
      // the journal cannot be read, so nothing commits meanwhile: the subscriptions need not wait
      started.complete(Done.getInstance());
      return;
    }
    last.set(Math.max(from, last.get()));
    skipToEnd = false;
    query = RestartSource.onFailuresWithBackoff(RESTART, () -> PersistenceQuery.get(clusterSystem)
            .getReadJournalFor(EventsByTagQuery.class, readJournal).eventsByTag(TAG, Offset.sequence(last.get())))
        .viaMat(KillSwitches.single(), Keep.right())
        .toMat(Sink.foreach(envelope -> toEvent(envelope).ifPresent(event -> {
          // after a restart of the query, events up to the last one are read again
          if (mine != run || event.offset() <= last.get()) return;
          last.set(event.offset());
          events.publish(event);
        })), Keep.left())
        .run(clusterSystem);
    started.complete(Done.getInstance());
  }

  private synchronized void retry(ActorSystem<?> clusterSystem, int failed) {
    if (failed != run || system != clusterSystem || !wanted) return;
    live = null;
    launch();
  }

  /** The offset of the last event published on this node (-1 before the journal was first read). */
  public long lastOffset() {
    return last.get();
  }

  private static final Duration RETRY = Duration.ofSeconds(2);

  private static final RestartSettings RESTART = RestartSettings.create(Duration.ofMillis(500), Duration.ofSeconds(10), 0.2);

  /**
   * Where to follow the journal from for a subscription that wanted it at {@code wantedAt} (epoch ms): after the last
   * tagged event written by then, read from {@code after} on ({@code after} when it has none later). An event written
   * after {@code wantedAt} is left to the live query even though this query sees it: it committed after the
   * subscription came (a change made right after a page opened its event stream), and taking the journal's end instead
   * would drop it unseen.
   */
  static CompletionStage<Long> end(ActorSystem<?> clusterSystem, String readJournal, long after, long wantedAt) {
    CurrentEventsByTagQuery journal = PersistenceQuery.get(clusterSystem).getReadJournalFor(CurrentEventsByTagQuery.class, readJournal);
    // {the last offset seen, the one before the first event written after wantedAt}
    return journal.currentEventsByTag(TAG, after == 0 ? Offset.noOffset() : Offset.sequence(after))
        .runWith(Sink.fold(new long[] {after, Long.MAX_VALUE}, (start, e) -> {
          start[0] = Math.max(start[0], offsetOf(e));
          if (e.timestamp() > wantedAt) start[1] = Math.min(start[1], offsetOf(e) - 1);
          return start;
        }), clusterSystem)
        .thenApply(start -> Math.min(start[0], start[1]));
  }

  /**
   * The journaled changes after {@code offset} that are in the journal now, oldest first, then completes: a
   * {@code Last-Event-ID} resume.
   */
  public static Source<FulcrumEvent, NotUsed> replay(ActorSystem<?> clusterSystem, String readJournal, long offset) {
    CurrentEventsByTagQuery journal = PersistenceQuery.get(clusterSystem).getReadJournalFor(CurrentEventsByTagQuery.class, readJournal);
    return journal.currentEventsByTag(TAG, Offset.sequence(offset))
        .mapConcat(e -> toEvent(e).map(List::of).orElse(List.of()))
        // the query's offset is exclusive in pekko-persistence-jdbc; kept exact whatever a plugin does
        .filter(e -> e.offset() > offset);
  }

  /** The envelope as a change event, if it is one this version knows. */
  static Optional<FulcrumEvent> toEvent(EventEnvelope envelope) {
    if (envelope.event() instanceof PoolEvent event && envelope.persistenceId().startsWith(POOL_PREFIX)) {
      return Optional.of(new FulcrumEvent.PoolChanged(
          envelope.persistenceId().substring(POOL_PREFIX.length()),
          envelope.sequenceNr(),
          PoolEvent.typeName(event),
          event.origin(),
          event,
          offsetOf(envelope),
          event.timestamp() == null ? Instant.ofEpochMilli(envelope.timestamp()) : event.timestamp()));
    }
    return Optional.empty();
  }

  private static long offsetOf(EventEnvelope envelope) {
    return envelope.offset() instanceof Sequence s ? s.value() : 0;
  }
}
