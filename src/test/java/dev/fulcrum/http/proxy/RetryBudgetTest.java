package dev.fulcrum.http.proxy;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.config.HttpListenerSettings.RetryBudgetSettings;
import org.junit.jupiter.api.Test;

class RetryBudgetTest {
  @Test
  void burstIsSpentThenRetriesFollowTheRatio() {
    RetryBudget budget = new RetryBudget(new RetryBudgetSettings(0.2, 2));
    assertTrue(budget.tryRetry());
    assertTrue(budget.tryRetry());
    assertFalse(budget.tryRetry(), "burst spent");
    for (int i = 0; i < 4; i++) budget.onRequest();
    assertFalse(budget.tryRetry(), "4 requests earn 0.8 of a retry");
    budget.onRequest();
    assertTrue(budget.tryRetry(), "5 requests earn one retry");
    assertFalse(budget.tryRetry());
  }

  @Test
  void balanceNeverExceedsTheBurst() {
    RetryBudget budget = new RetryBudget(new RetryBudgetSettings(1.0, 3));
    for (int i = 0; i < 100; i++) budget.onRequest();
    for (int i = 0; i < 3; i++) assertTrue(budget.tryRetry());
    assertFalse(budget.tryRetry());
  }
}
