package dev.fulcrum.config;

import java.time.Duration;
import java.util.Optional;

/**
 * How a backend's health is checked actively. {@code rise} consecutive passes bring a down backend up, {@code fall}
 * consecutive failures (active, or connect failures seen by the data plane) take an up backend down.
 */
public record HealthCheckSettings(
    Kind kind,
    String path,
    int expectStatus,
    Optional<String> expectBody,
    Duration interval,
    Duration timeout,
    int rise,
    int fall) {

  public enum Kind {
    TCP,
    HTTP
  }
}
