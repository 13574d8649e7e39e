package dev.fulcrum.pool;

import java.time.Duration;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The rule by which an entity under Cluster Sharding with remember-entities leaves while what it keeps does not exist
 * (a pool never created or deleted, a route table never set): otherwise sharding starts it again on every cluster
 * start and every failover, and it reads its journal, for good. One per entity instance; {@link PoolEntity} and
 * {@code RouteTableEntity} follow it.
 *
 * @param <C> the entity's command type
 */
public final class Leaving<C> {
  private static final Logger log = LoggerFactory.getLogger(Leaving.class);

  /**
   * How long an entity started without its state waits before it leaves: the command that started it (a create, a
   * bootstrap from config) is handled first, so an entity whose state is being made is not stopped and started again.
   */
  private static final Duration IDLE_BEFORE_LEAVING = Duration.ofSeconds(1);

  private final PoolEntity.Passivation passivation;
  private final ActorContext<C> context;
  private final C leaveIfGone;
  private final String what;
  /** The entity asked to passivate: the shard's stop message is the answer, not a hand-off's or a shutdown's. */
  private boolean asked;

  /**
   * @param passivation the entity's shard and how to wake it ({@code null}: the entity never leaves)
   * @param leaveIfGone the entity's command that calls {@link #leaveIfGone}
   * @param what the entity's state for the log, e.g. "pool web"
   */
  public Leaving(PoolEntity.Passivation passivation, ActorContext<C> context, C leaveIfGone, String what) {
    this.passivation = passivation;
    this.context = context;
    this.leaveIfGone = leaveIfGone;
    this.what = what;
  }

  /** After recovery: an entity without its state sends itself {@code leaveIfGone} a second later. */
  public void recovered(boolean exists) {
    if (passivation != null && !exists) context.scheduleOnce(IDLE_BEFORE_LEAVING, context.getSelf(), leaveIfGone);
  }

  /** Asks the shard to stop the entity when its state does not exist (the shard answers with the stop message). */
  public void leaveIfGone(boolean exists) {
    if (passivation == null || exists) return;
    log.debug("{} does not exist: its entity passivates", what);
    asked = true;
    passivation.shard().tell(new ClusterSharding.Passivate<>(context.getSelf()));
  }

  /** As {@link #leaveIfGone(boolean)}, then {@code effect}: for a command handler. */
  public <T> T leaveIfGone(boolean exists, T effect) {
    leaveIfGone(exists);
    return effect;
  }

  /**
   * The shard's stop message came, then {@code effect} (the entity's stop): an entity that asked to leave but whose
   * state exists by now (made while the request was on its way) asks to be started again.
   */
  public <T> T stopping(boolean exists, T effect) {
    if (asked && exists) passivation.wake().run();
    return effect;
  }
}
