package dev.fulcrum.config;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * The node's event subscriptions ({@code fulcrum.events}).
 *
 * @param bufferSize events kept for a subscriber that has not taken the previous ones yet, per subscriber (then the
 *     oldest are dropped and counted)
 * @param heartbeat how often {@code GET /api/events} sends a comment line when nothing happens, so proxies keep it open
 */
public record EventSettings(int bufferSize, Duration heartbeat) {

  public static EventSettings parse(Config root) {
    ConfigReader events = new ConfigReader(root, "").child("fulcrum").child("events");
    return new EventSettings(events.intIn("buffer-size", 1, dev.fulcrum.events.EventHub.MAX_BUFFER), events.positiveDuration("heartbeat"));
  }
}
