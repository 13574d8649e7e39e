package dev.fulcrum.http.pekko;

import dev.fulcrum.http.proxy.ListenerPolicy;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.stream.Materializer;

/** What every exchange of one listener shares. */
record ProxyContext(ActorSystem<?> system, Materializer materializer, BackendClients clients, ListenerPolicy policy,
    dev.fulcrum.http.proxy.ListenerObserver observer) {}
