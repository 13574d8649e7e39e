package dev.fulcrum.routing;

import dev.fulcrum.config.OutlierSettings;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * Counts one backend's consecutive failures by kind as the data plane reports outcomes, and asks its pool's router to
 * eject it when a count reaches its threshold (Envoy's consecutive_5xx, consecutive_gateway_failure and
 * consecutive_local_origin_failure). Lock-free and allocation-free per outcome; the router is told once per streak.
 */
public final class OutlierDetector {
  private final AtomicInteger serverErrors = new AtomicInteger();
  private final AtomicInteger gatewayErrors = new AtomicInteger();
  private final AtomicInteger localFailures = new AtomicInteger();
  private volatile OutlierSettings settings = OutlierSettings.OFF;
  private volatile Consumer<String> eject = reason -> {};

  /** Set by the router: the thresholds, and how to ask it for an ejection. */
  void configure(OutlierSettings settings, Consumer<String> eject) {
    this.settings = settings;
    this.eject = eject;
  }

  /** The backend answered with this status (any 1xx-5xx response head). */
  public void responded(int status) {
    if (status < 500) {
      reset();
      return;
    }
    localFailures.set(0);
    OutlierSettings s = settings;
    count(serverErrors, s.consecutive5xx(), "consecutive 5xx responses, last " + status);
    if (status == 502 || status == 503 || status == 504) {
      count(gatewayErrors, s.consecutiveGatewayErrors(), "consecutive gateway errors, last " + status);
    } else {
      gatewayErrors.set(0);
    }
  }

  /** A connect to the backend succeeded: Fulcrum's own path to it works, whatever it answers next. */
  public void connected() {
    if (localFailures.get() != 0) localFailures.set(0);
  }

  /** The backend's answer was not HTTP, or it closed the connection instead of answering. */
  public void gatewayError(String what) {
    count(gatewayErrors, settings.consecutiveGatewayErrors(), "consecutive gateway errors, last: " + what);
  }

  /** Fulcrum's attempt failed: connect refused or timed out, reset before any response, response timeout. */
  public void localFailure(String what) {
    count(localFailures, settings.consecutiveLocalFailures(), "consecutive local-origin failures, last: " + what);
  }

  /** Forgets the streaks: the backend answered well, or came back from an ejection. */
  public void reset() {
    if (serverErrors.get() != 0) serverErrors.set(0);
    if (gatewayErrors.get() != 0) gatewayErrors.set(0);
    if (localFailures.get() != 0) localFailures.set(0);
  }

  private void count(AtomicInteger streak, int threshold, String what) {
    int n = streak.incrementAndGet();
    // == rather than >=: one request for one streak, however many more failures race in
    if (threshold > 0 && n == threshold) eject.accept(n + " " + what);
  }
}
