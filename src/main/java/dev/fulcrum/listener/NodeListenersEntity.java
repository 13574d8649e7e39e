package dev.fulcrum.listener;

import dev.fulcrum.CborSerializable;
import dev.fulcrum.config.JournalSettings;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;

/**
 * One node's listeners, event-sourced under Cluster Sharding (entity id: the node's name, {@code fulcrum.node-name}):
 * the listeners in its config as the first state (origin "config"), then each listener added or removed at runtime.
 * Sharding keeps one writer per node name wherever the entity runs; the node reads it at start to bring its runtime
 * listeners back. A change that is in effect already writes nothing.
 */
public final class NodeListenersEntity
    extends EventSourcedBehaviorWithEnforcedReplies<NodeListenersEntity.Command, ListenerEvent, NodeListenersState> {

  public static final EntityTypeKey<Command> TYPE_KEY = EntityTypeKey.create(Command.class, "NodeListeners");
  static final String CONFIG = "config";

  public static PersistenceId persistenceId(String node) {
    return PersistenceId.of(TYPE_KEY.name(), node);
  }

  public sealed interface Command extends CborSerializable {}

  public record Add(ListenerDefinition listener, String origin, ActorRef<NodeListenersState> replyTo) implements Command {}

  public record Remove(String name, String origin, ActorRef<NodeListenersState> replyTo) implements Command {}

  public record GetState(ActorRef<NodeListenersState> replyTo) implements Command {}

  /** Start-up: the config's listeners as the first state without a journal; else the differences, applied if asked. */
  public record Bootstrap(List<ListenerDefinition> config, boolean applyConfig, ActorRef<BootstrapResult> replyTo) implements Command {
    public Bootstrap {
      config = List.copyOf(config);
    }
  }

  public record BootstrapResult(NodeListenersState state, boolean created, List<String> differences, boolean applied)
      implements CborSerializable {
    public BootstrapResult {
      differences = List.copyOf(differences);
    }
  }

  private final JournalSettings settings;

  public static Behavior<Command> create(String node, JournalSettings settings) {
    return new NodeListenersEntity(node, settings);
  }

  private NodeListenersEntity(String node, JournalSettings settings) {
    super(persistenceId(node), SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.2));
    this.settings = settings;
  }

  @Override
  public NodeListenersState emptyState() {
    return NodeListenersState.EMPTY;
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(settings.snapshotEvery(), 2);
  }

  @Override
  public EventHandler<NodeListenersState, ListenerEvent> eventHandler() {
    return NodeListenersState::apply;
  }

  @Override
  public CommandHandlerWithReply<Command, ListenerEvent, NodeListenersState> commandHandler() {
    return newCommandHandlerWithReplyBuilder()
        .forAnyState()
        .onCommand(GetState.class, (state, c) -> Effect().reply(c.replyTo(), state))
        .onCommand(Add.class, (state, c) -> state.listener(c.listener().name()).equals(Optional.of(c.listener()))
            ? Effect().reply(c.replyTo(), state)
            : Effect().persist(new ListenerEvent.ListenerAdded(c.listener(), Instant.now(), c.origin())).thenReply(c.replyTo(), s -> s))
        .onCommand(Remove.class, (state, c) -> state.listener(c.name()).isEmpty()
            ? Effect().reply(c.replyTo(), state)
            : Effect().persist(new ListenerEvent.ListenerRemoved(c.name(), Instant.now(), c.origin())).thenReply(c.replyTo(), s -> s))
        .onCommand(Bootstrap.class, this::bootstrap)
        .build();
  }

  private ReplyEffect<ListenerEvent, NodeListenersState> bootstrap(NodeListenersState state, Bootstrap c) {
    if (state.version() == 0) {
      return Effect().persist(new ListenerEvent.ListenersSet(c.config(), Instant.now(), CONFIG))
          .thenReply(c.replyTo(), s -> new BootstrapResult(s, true, List.of(), false));
    }
    List<String> differences = differences(state.listeners(), c.config());
    if (!c.applyConfig() || differences.isEmpty()) {
      return Effect().reply(c.replyTo(), new BootstrapResult(state, false, differences, false));
    }
    return Effect().persist(new ListenerEvent.ListenersSet(c.config(), Instant.now(), CONFIG))
        .thenReply(c.replyTo(), s -> new BootstrapResult(s, false, differences, true));
  }

  /** How the journal's listeners differ from the config's, one sentence each, by name. */
  static List<String> differences(List<ListenerDefinition> journal, List<ListenerDefinition> config) {
    List<String> why = new ArrayList<>();
    for (ListenerDefinition j : journal) {
      Optional<ListenerDefinition> c = config.stream().filter(x -> x.name().equals(j.name())).findFirst();
      if (c.isEmpty()) why.add(j.protocol() + " listener '" + j.name() + "' is in the journal (added at runtime), not in config");
      else if (!c.get().equals(j)) why.add(j.protocol() + " listener '" + j.name() + "' differs between the journal and config");
    }
    for (ListenerDefinition c : config) {
      if (journal.stream().noneMatch(j -> j.name().equals(c.name()))) {
        why.add(c.protocol() + " listener '" + c.name() + "' is in config, not in the journal (removed at runtime)");
      }
    }
    return why;
  }
}
