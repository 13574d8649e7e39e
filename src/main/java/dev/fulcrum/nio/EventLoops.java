package dev.fulcrum.nio;

/**
 * The event loops of the data plane, shared by every TCP and HTTP listener of a node with {@code engine = nio}. They start
 * with the first listener that needs them and stop with the node, after its drain.
 */
public final class EventLoops {
  /**
   * Bytes read from a socket at a time. Buffers are taken only while data is in flight and given back when it is
   * written, so idle connections hold none.
   */
  private static final int BUFFER_SIZE = 64 * 1024;

  private final String name;
  private final int count;
  private EventLoop[] loops;
  private boolean stopped;

  /** {@code count} loops, or one per core if it is 0. */
  public EventLoops(String name, int count) {
    this.name = name;
    this.count = count > 0 ? count : Runtime.getRuntime().availableProcessors();
  }

  public synchronized EventLoop[] all() {
    if (stopped) throw new IllegalStateException("the event loops have stopped");
    if (loops == null) {
      loops = new EventLoop[count];
      for (int i = 0; i < count; i++) loops[i] = new EventLoop("fulcrum-io-" + name + "-" + i, BUFFER_SIZE);
    }
    return loops.clone();
  }

  /** Closes every connection still open on the loops and ends their threads. */
  public synchronized void stop() {
    stopped = true;
    if (loops != null) for (EventLoop loop : loops) loop.stop();
  }
}
