package dev.fulcrum.http.pekko;

import dev.fulcrum.http.proxy.Forwarded;
import dev.fulcrum.http.proxy.ListenerPolicy;
import dev.fulcrum.tls.TlsContext;
import java.net.InetAddress;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.stream.Materializer;

/** What every exchange of one listener shares. */
record ProxyContext(ActorSystem<?> system, Materializer materializer, BackendClients clients, ListenerPolicy policy,
    dev.fulcrum.http.proxy.ListenerObserver observer) {
  /** What the backend is told about the client of this request (the TLS session is an attribute Pekko adds). */
  Forwarded forwarded(HttpRequest request, InetAddress client, String host, String requestId) {
    // only where certificates are asked for: JSSE answers "none" with an exception, a cost on every request
    boolean asks = policy.settings().tls().map(t -> t.clientAuth() != dev.fulcrum.config.TlsSettings.ClientAuth.NONE)
        .orElse(false);
    String subject = !asks ? null : request.getAttribute(AttributeKeys.sslSession)
        .map(info -> TlsContext.clientSubject(info.getSession()))
        .orElse(null);
    return new Forwarded(client.getHostAddress(), policy.settings().tls().isPresent(), host, requestId, subject);
  }
}
