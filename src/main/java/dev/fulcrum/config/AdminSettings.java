package dev.fulcrum.config;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.Optional;

/**
 * The admin HTTP API ({@code fulcrum.admin}).
 *
 * @param token when present, mutating calls need {@code Authorization: Bearer <token>}
 * @param askTimeout how long a call waits for the pool's entity before it answers 503
 */
public record AdminSettings(boolean enabled, HostPort bind, Optional<String> token, Duration askTimeout) {

  public static AdminSettings parse(Config root) {
    ConfigReader admin = new ConfigReader(root, "").child("fulcrum").child("admin");
    boolean enabled = admin.bool("enabled");
    String token = admin.string("token").trim();
    return new AdminSettings(
        enabled,
        admin.hostPort("bind", true),
        token.isEmpty() ? Optional.empty() : Optional.of(token),
        admin.positiveDuration("ask-timeout"));
  }
}
