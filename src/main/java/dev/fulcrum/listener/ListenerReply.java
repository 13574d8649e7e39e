package dev.fulcrum.listener;

import java.net.InetSocketAddress;

/** What became of a {@link ListenerCommand}. */
public sealed interface ListenerReply {

  record Added(String name, String protocol, InetSocketAddress address) implements ListenerReply {}

  /** @param leftOpen TCP connections still open when the drain time was up (HTTP ones are closed then) */
  record Removed(String name, int leftOpen) implements ListenerReply {}

  /** Nothing changed; {@code message} names the field ("bind: ...", "name: ...", "routes[1].pool: ..."). */
  record Rejected(Reason reason, String message) implements ListenerReply {}

  enum Reason { INVALID, ALREADY_EXISTS, NO_SUCH_LISTENER, CANNOT_BIND, UNAVAILABLE }
}
