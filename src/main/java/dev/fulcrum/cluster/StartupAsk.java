package dev.fulcrum.cluster;

import dev.fulcrum.Failures;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The one rule for a node's start-up questions to sharded entities (pools, route tables, its listener journal). */
public final class StartupAsk {
  private static final Logger log = LoggerFactory.getLogger(StartupAsk.class);

  private StartupAsk() {}

  /**
   * Asks again, at least half a second later, when an attempt times out or this node is between cluster incarnations,
   * until {@code deadline} ({@link System#nanoTime()}): while nodes start together the shards move (the coordinator
   * balances them as nodes join) and a message that reaches a shard during its hand-off is dropped; and an incarnation
   * that ends during start-up (see {@link Membership}) fails its asks at once until the next one is there. Only for
   * questions that are safe to repeat (a bootstrap creates or applies only what the journal does not have yet).
   *
   * @param what what did not answer, for the log ("a pool's entity")
   */
  public static <T> CompletionStage<T> patiently(String what, Supplier<CompletionStage<T>> ask, long deadline) {
    CompletionStage<T> attempt;
    try {
      attempt = ask.get();
    } catch (IllegalStateException notAMember) {
      attempt = CompletableFuture.failedStage(notAMember);
    }
    return attempt.exceptionallyComposeAsync(failure -> {
      Throwable cause = Failures.unwrap(failure);
      boolean again = cause instanceof TimeoutException || cause instanceof IllegalStateException;
      if (!again || System.nanoTime() > deadline) return CompletableFuture.failedStage(failure);
      log.info("{} did not answer at start-up ({}); asking again", what, Failures.describe(cause));
      return patiently(what, ask, deadline);
    }, CompletableFuture.delayedExecutor(500, TimeUnit.MILLISECONDS));
  }
}
