package dev.fulcrum.runtime;

import com.typesafe.config.Config;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.dispatch.DispatcherPrerequisites;
import org.apache.pekko.dispatch.ExecutorServiceConfigurator;
import org.apache.pekko.dispatch.ExecutorServiceFactory;
import org.apache.pekko.stream.ActorMaterializer;
import org.apache.pekko.stream.ActorMaterializerSettings;
import org.apache.pekko.stream.Materializer;

/**
 * Threads for the HTTP streams, one per core, each with a large stack. Pekko HTTP's parser recurses once per request
 * in a chunk it reads: a client pipelining a thousand tiny requests overflowed a default 1 MiB stack in a freshly
 * started JVM, and the error stopped the whole JVM (HttpPipelineFloodTest). A fork-join pool cannot be given larger
 * stacks on Java 17, hence a fixed thread pool; the stack is reserved address space, committed only as it is used.
 */
public final class LargeStackExecutor extends ExecutorServiceConfigurator {
  /** Enough for the ~7,000 tiny requests one 128 KiB read can hold, in interpreted code. */
  private static final long STACK_BYTES = 64L * 1024 * 1024;

  /**
   * A materializer whose streams all run on these threads: for every HTTP server of a node (listeners, admin API,
   * demo backends), since any of them parses what a client sends.
   */
  @SuppressWarnings("deprecation") // the one way in Pekko 1.x to give all of a materializer's streams a dispatcher
  public static Materializer materializer(ActorSystem<?> system) {
    return ActorMaterializer.create(
        ActorMaterializerSettings.create(system.classicSystem()).withDispatcher("pekko.fulcrum-http-dispatcher"),
        system.classicSystem());
  }

  public LargeStackExecutor(Config config, DispatcherPrerequisites prerequisites) {
    super(config, prerequisites);
  }

  @Override
  public ExecutorServiceFactory createExecutorServiceFactory(String id, ThreadFactory ignored) {
    int threads = Runtime.getRuntime().availableProcessors();
    AtomicInteger count = new AtomicInteger();
    return () -> new ThreadPoolExecutor(threads, threads, 60, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), task -> {
      Thread thread = new Thread(null, task, id + "-" + count.incrementAndGet(), STACK_BYTES);
      thread.setDaemon(true);
      return thread;
    });
  }
}
