package dev.fulcrum.http;

import dev.fulcrum.config.HttpListenerSettings;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.stream.Materializer;

/** What every exchange of one listener shares. */
record ProxyContext(
    ActorSystem<?> system, Materializer materializer, BackendClients clients, RetryBudget retryBudget,
    HttpListenerSettings settings) {}
