package dev.fulcrum.http.pekko;

import dev.fulcrum.tls.HandshakeBoundEngine;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import javax.net.ssl.SSLHandshakeException;
import org.apache.pekko.actor.ActorCell$;
import org.apache.pekko.actor.ActorContext;
import org.apache.pekko.actor.ActorRef;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.stream.impl.FanIn;

/**
 * The handshake timer of Pekko HTTP's TLS stage, which has none, and which sits under the HTTP layer, out of a
 * handler's reach. Pekko 1.x runs that stage as an actor (TLSActor) and makes its engine in the actor's constructor,
 * where Pekko keeps the actor's context in a thread-local: the watchdog, armed from the engine's making, takes the
 * actor from there and at the timeout sends it what a failed connection would (an error on its transport input), on
 * which it fails both ways and the connection is closed. Both are Pekko internals: were the stage made otherwise (a
 * later Pekko), no actor is found, a warning says so once, and the engine ends a late handshake at the client's next
 * bytes only (HttpTlsRefusalsTest's stalled hello fails then).
 */
final class TlsStageWatchdog implements HandshakeBoundEngine.Watchdog {
  private static final String TLS_ACTOR = "org.apache.pekko.stream.impl.io.TLSActor";
  /** TLSActor.TransportIn: the input of the bytes from the client. */
  private static final int TRANSPORT_IN = 0;

  private final String listener;
  private final AtomicBoolean warned = new AtomicBoolean();

  TlsStageWatchdog(String listener) {
    this.listener = listener;
  }

  @Override
  public Runnable arm(Duration timeout, Supplier<SSLHandshakeException> expired) {
    ActorContext stage = tlsStageBeingMade();
    if (stage == null) {
      if (warned.compareAndSet(false, true)) {
        org.slf4j.LoggerFactory.getLogger(TlsStageWatchdog.class).warn("listener {}: Pekko's TLS stage was not found "
            + "where this Pekko version was expected to make it; a TLS handshake past tls.handshake-timeout is ended "
            + "only at the client's next bytes (or by client-idle-timeout)", listener);
      }
      return () -> { };
    }
    ActorRef actor = stage.self();
    Cancellable timer = stage.system().scheduler().scheduleOnce(timeout, () -> {
      SSLHandshakeException failure = expired.get();
      if (failure != null) actor.tell(new FanIn.OnError(TRANSPORT_IN, failure), ActorRef.noSender());
    }, stage.dispatcher());
    return timer::cancel;
  }

  /** The TLS actor whose constructor runs on this thread, or null. */
  private static ActorContext tlsStageBeingMade() {
    // the actor's own context, under the null that Actor's constructor pushes once it took it
    scala.collection.Iterator<ActorContext> stack = ActorCell$.MODULE$.contextStack().get().iterator();
    while (stack.hasNext()) {
      ActorContext context = stack.next();
      if (context != null) return context.props().actorClass().getName().equals(TLS_ACTOR) ? context : null;
    }
    return null;
  }
}
