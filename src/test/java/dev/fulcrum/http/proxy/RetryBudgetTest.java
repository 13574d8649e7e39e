package dev.fulcrum.http.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.config.HttpListenerSettings.RetryBudgetSettings;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class RetryBudgetTest {
  /** The budget's period (2^30 ns). */
  private static final long PERIOD = 1L << 30;

  private final AtomicLong now = new AtomicLong(5 * PERIOD);

  private RetryBudget budget(double ratio, int burst) {
    return new RetryBudget(new RetryBudgetSettings(ratio, burst), now::get);
  }

  @Test
  void burstIsSpentThenRetriesFollowTheRatio() {
    RetryBudget budget = budget(0.2, 2);
    assertTrue(budget.tryRetry());
    assertTrue(budget.tryRetry());
    assertFalse(budget.tryRetry(), "burst spent");
    for (int i = 0; i < 4; i++) budget.onRequest();
    assertFalse(budget.tryRetry(), "4 requests earn 0.8 of a retry");
    budget.onRequest();
    assertTrue(budget.tryRetry(), "5 requests earn one retry");
    assertFalse(budget.tryRetry());
    assertEquals(3, budget.refused());
  }

  @Test
  void withoutTrafficTheBalanceNeverExceedsTheBurst() {
    RetryBudget budget = budget(1.0, 3);
    for (int i = 0; i < 100; i++) budget.onRequest();
    for (int i = 0; i < 3; i++) assertTrue(budget.tryRetry());
    assertFalse(budget.tryRetry(), "the first period's requests do not raise the cap yet");
  }

  @Test
  void theLastPeriodsTrafficRaisesTheCap() {
    // a backend dying under load resets all its requests in flight at once: many more than the burst
    RetryBudget budget = budget(0.2, 2);
    for (int i = 0; i < 500; i++) budget.onRequest();
    now.addAndGet(PERIOD);
    for (int i = 0; i < 500; i++) budget.onRequest();
    // the cap: 2 + 0.2 x 500 = 102 retries, filled by the second period's deposits (a steady 500 requests a period)
    for (int i = 0; i < 102; i++) assertTrue(budget.tryRetry(), "retry " + i);
    assertFalse(budget.tryRetry());
    // and then the ratio again: 5 requests, one retry
    for (int i = 0; i < 5; i++) budget.onRequest();
    assertTrue(budget.tryRetry());
    assertFalse(budget.tryRetry());
  }

  @Test
  void aQuietSpellBringsTheCapBackToTheBurst() {
    RetryBudget budget = budget(0.2, 2);
    for (int i = 0; i < 500; i++) budget.onRequest();
    now.addAndGet(PERIOD);
    for (int i = 0; i < 500; i++) budget.onRequest(); // the cap is 2 + 100 now, and the balance at it
    now.addAndGet(10 * PERIOD);
    budget.onRequest(); // after ten quiet periods: no traffic to speak of
    assertTrue(budget.tryRetry());
    assertTrue(budget.tryRetry());
    assertFalse(budget.tryRetry(), "the balance saved while busy is not spent after the spell");
  }

  @Test
  void noBudgetRefusesEveryRetry() {
    RetryBudget budget = budget(0, 0);
    for (int i = 0; i < 100; i++) budget.onRequest();
    now.addAndGet(PERIOD);
    budget.onRequest();
    assertFalse(budget.tryRetry());
    assertEquals(1, budget.refused());
  }
}
