package dev.fulcrum.tcp;

import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;

/**
 * The event loops of the L4 data plane, one per core, shared by every TCP listener of an actor system and stopped
 * with it (after Fulcrum's drain, which runs before the system terminates).
 */
final class EventLoops implements Extension {
  /**
   * Bytes read from a socket at a time. Buffers are taken only while data is in flight and given back when it is
   * written, so idle connections hold none.
   */
  private static final int BUFFER_SIZE = 64 * 1024;

  private static final ExtensionId<EventLoops> ID = new ExtensionId<>() {
    @Override
    public EventLoops createExtension(ActorSystem<?> system) {
      return new EventLoops(system);
    }
  };

  private final EventLoop[] loops;
  private final AtomicInteger next = new AtomicInteger();

  private EventLoops(ActorSystem<?> system) {
    loops = new EventLoop[Runtime.getRuntime().availableProcessors()];
    for (int i = 0; i < loops.length; i++) {
      loops[i] = new EventLoop("fulcrum-tcp-" + system.name() + "-" + i, BUFFER_SIZE);
    }
    system.getWhenTerminated().thenRun(() -> {
      for (EventLoop loop : loops) loop.stop();
    });
  }

  static EventLoops get(ActorSystem<?> system) {
    return system.registerExtension(ID);
  }

  EventLoop[] all() {
    return loops.clone();
  }

  /** Loops in turn, to spread new work evenly. */
  EventLoop next() {
    return loops[Math.floorMod(next.getAndIncrement(), loops.length)];
  }
}
