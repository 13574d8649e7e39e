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
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.Offset;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.persistence.query.Sequence;
import org.apache.pekko.persistence.query.javadsl.CurrentEventsByTagQuery;
import org.apache.pekko.persistence.query.javadsl.EventsByTagQuery;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.stream.RestartSettings;
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
 * <p>A node starts at the journal's end (it publishes changes from now on) and, after a cluster incarnation ended
 * (downed, rejoining), goes on from the last offset it published: the new incarnation catches up on what it missed.
 */
public final class JournalFeed {
  private static final Logger log = LoggerFactory.getLogger(JournalFeed.class);

  /** The tag of every journaled change that subscribers hear of. */
  public static final String TAG = "fulcrum-change";

  public static final Set<String> TAGS = Set.of(TAG);

  private static final String POOL_PREFIX = PoolEntity.TYPE_KEY.name() + PersistenceId.DefaultSeparator();

  private final FulcrumEvents events;
  private final String readJournal;
  /** The offset of the last event published; -1 until the first incarnation found the journal's end. */
  private final AtomicLong last = new AtomicLong(-1);

  public JournalFeed(FulcrumEvents events, String readJournal) {
    this.events = events;
    this.readJournal = readJournal;
  }

  /** Follows the journal in this cluster incarnation until it terminates. */
  public void start(ActorSystem<?> clusterSystem) {
    EventsByTagQuery journal = PersistenceQuery.get(clusterSystem).getReadJournalFor(EventsByTagQuery.class, readJournal);
    CompletionStage<Long> from = last.get() >= 0
        ? CompletableFuture.completedFuture(last.get())
        : end(clusterSystem, readJournal);
    from.whenComplete((start, failure) -> {
      if (failure != null) {
        // starting from the journal's start instead would flood the subscribers with the whole history
        log.warn("cannot find the journal's end ({}); change events follow once it can be read",
            dev.fulcrum.Failures.describe(failure));
        if (!clusterSystem.whenTerminated().isCompleted()) {
          clusterSystem.scheduler().scheduleOnce(RETRY, () -> start(clusterSystem), clusterSystem.executionContext());
        }
        return;
      }
      last.compareAndSet(-1, start);
      RestartSource.onFailuresWithBackoff(RESTART, () -> journal.eventsByTag(TAG, Offset.sequence(last.get())))
          .runForeach(envelope -> toEvent(envelope).ifPresent(event -> {
            // after a restart of the query, events up to the last one are read again
            if (event.offset() <= last.get()) return;
            last.set(event.offset());
            events.publish(event);
          }), clusterSystem);
    });
  }

  /** The offset of the last event published on this node (-1 before the journal was first read). */
  public long lastOffset() {
    return last.get();
  }

  private static final Duration RETRY = Duration.ofSeconds(2);

  private static final RestartSettings RESTART = RestartSettings.create(Duration.ofMillis(500), Duration.ofSeconds(10), 0.2);

  /** The offset of the journal's last tagged event (0 when it has none). */
  static CompletionStage<Long> end(ActorSystem<?> clusterSystem, String readJournal) {
    CurrentEventsByTagQuery journal = PersistenceQuery.get(clusterSystem).getReadJournalFor(CurrentEventsByTagQuery.class, readJournal);
    return journal.currentEventsByTag(TAG, Offset.noOffset())
        .runWith(Sink.fold(0L, (max, e) -> Math.max(max, offsetOf(e))), clusterSystem);
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
