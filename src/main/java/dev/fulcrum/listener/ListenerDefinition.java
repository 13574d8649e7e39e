package dev.fulcrum.listener;

import dev.fulcrum.CborSerializable;
import dev.fulcrum.config.HttpListenerSettings;
import dev.fulcrum.config.TcpListenerSettings;
import java.util.List;

/**
 * A listener as a node's listener journal keeps it: exactly one of {@code tcp} and {@code http}. An HTTP listener is
 * kept without its routes, which are the cluster's, in the route table entity of its name. Journaled: add fields only
 * with a default.
 */
public record ListenerDefinition(String name, TcpListenerSettings tcp, HttpListenerSettings http) implements CborSerializable {

  public static ListenerDefinition of(TcpListenerSettings tcp) {
    return new ListenerDefinition(tcp.name(), tcp, null);
  }

  public static ListenerDefinition of(HttpListenerSettings http) {
    return new ListenerDefinition(http.name(), null, new HttpListenerSettings(http.name(), http.bind(), List.of(), http.firewall(),
        http.limits(), http.clientIdleTimeout(), http.retryBudget(), http.engine(), http.paths(), http.tls(),
        http.proxyProtocolFrom(), http.http2()));
  }

  public String protocol() {
    return tcp != null ? "tcp" : "http";
  }
}
