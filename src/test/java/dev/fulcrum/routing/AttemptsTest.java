package dev.fulcrum.routing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class AttemptsTest {
  private final RoutedBackend[] backends = Tables.backends(1, 1, 1, 1);
  private final RoutingTable table = Tables.table(StrategyKind.ROUND_ROBIN, backends);

  @Test
  void walksTheTableFromTheFirstPickWrappingAround() {
    Attempts attempts = new Attempts(table, 2, 10);
    List<RoutedBackend> seen = new ArrayList<>();
    while (attempts.hasNext()) seen.add(attempts.next());
    assertEquals(List.of(backends[2], backends[3], backends[0], backends[1]), seen);
    assertEquals(4, attempts.made());
  }

  @Test
  void stopsAtTheLimitAndNeverRepeatsABackend() {
    Attempts attempts = new Attempts(table, 3, 2);
    assertNull(attempts.current());
    assertSame(backends[3], attempts.next());
    assertSame(backends[3], attempts.current());
    assertSame(backends[0], attempts.next());
    assertFalse(attempts.hasNext());
    assertThrows(IllegalStateException.class, attempts::next);
  }

  @Test
  void atLeastOneAttemptAndNoneOnAnEmptyTable() {
    Attempts one = new Attempts(table, 0, 0);
    assertTrue(one.hasNext());
    one.next();
    assertFalse(one.hasNext());
    assertNull(Attempts.pick(RoutingTable.empty("none"), 0, 3));
    assertThrows(IllegalArgumentException.class, () -> new Attempts(table, 4, 3));
  }
}
