package dev.fulcrum.listener;

import dev.fulcrum.config.HttpListenerSettings;
import dev.fulcrum.config.TcpListenerSettings;
import dev.fulcrum.pool.PoolEntity;
import java.time.Duration;
import java.util.Optional;

/**
 * The typed messages that add and remove this node's listeners at runtime ({@code Fulcrum.listeners(...)}; the admin
 * API's {@code POST /api/listeners} and {@code DELETE /api/listeners/{name}} translate onto them). Settings are parsed
 * and checked as the config's ({@code SettingsParser.parseTcpListener}, {@code HttpSettingsParser.parseListener}).
 */
public sealed interface ListenerCommand {

  /** Where the command came from, kept in the node's listener journal and told with its events. */
  String origin();

  /**
   * Binds a TCP listener; Rejected (nothing changed) when its name is taken or it cannot bind. {@code origin}: where
   * the command comes from ("admin-api 127.0.0.1"; "java-api" when not given).
   */
  record AddTcp(TcpListenerSettings settings, String origin) implements ListenerCommand {
    public AddTcp(TcpListenerSettings settings) {
      this(settings, PoolEntity.JAVA_API);
    }
  }

  /**
   * Binds an HTTP listener. With routes, they become its route table (event-sourced, on every node), which must not
   * exist yet; without, the listener takes the table its name has (a listener of that name elsewhere in the cluster,
   * or earlier).
   */
  record AddHttp(HttpListenerSettings settings, PoolEntity.Request request) implements ListenerCommand {
    @Override
    public String origin() {
      return request.origin();
    }
  }

  /**
   * Stops accepting at once, lets open connections finish for up to {@code drain} (default
   * {@code fulcrum.shutdown.drain-timeout}), then removes the listener (its HTTP connections closed; TCP connections
   * still open then are left to end by themselves). Its route table stays, with its history.
   */
  record Remove(String name, Optional<Duration> drain, String origin) implements ListenerCommand {
    public Remove(String name, Optional<Duration> drain) {
      this(name, drain, PoolEntity.JAVA_API);
    }
  }
}
