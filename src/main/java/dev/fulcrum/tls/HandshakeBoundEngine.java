package dev.fulcrum.tls;

import dev.fulcrum.nio.HandshakeWatchingEngine;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;

/**
 * A server engine for a TLS stage Fulcrum does not drive itself (Pekko HTTP's): it tells {@code refused} once when the
 * handshake fails (an alert, plain text, a hello the engine refuses, the client closing within it) or has not finished
 * by {@code timeout} since the engine was made. The stage calls the engine only when bytes move, so a {@link Watchdog}
 * armed at its making ends the connection of a client that sends nothing more (a part of a hello, nothing at all, a
 * record header announcing more than it sends), and tells what the stage would not have (a connection that ended under
 * the engine, as a reset does). A client whose bytes arrive past the timeout before the watchdog fired is ended by the
 * engine itself at those bytes.
 *
 * <p>Pekko's stage closes the connection only once the engine says it is done. Past the timeout the engine says it is
 * over in both directions at once, whatever the wrapped one would say after a close in mid-handshake (JSSE throws
 * from {@code closeInbound}, which fails the stage; Conscrypt keeps a close_notify that the stage, still awaiting the
 * client's next handshake message, never wraps).
 */
public final class HandshakeBoundEngine extends HandshakeWatchingEngine {
  /** Hears a refused handshake once, with the reason. */
  public interface Refused {
    void refused(String reason);
  }

  /** Ends, from a timer, the connection of a handshake that did not finish in time. */
  public interface Watchdog {
    /**
     * Calls {@code expired} on a thread of its own once {@code timeout} has passed, unless the returned handle was run
     * first, and ends the connection with the failure it returns (none: the connection is left as it is).
     */
    Runnable arm(Duration timeout, Supplier<SSLHandshakeException> expired);
  }

  private static final SSLEngineResult OVER =
      new SSLEngineResult(SSLEngineResult.Status.CLOSED, SSLEngineResult.HandshakeStatus.NOT_HANDSHAKING, 0, 0);

  private final long deadline;
  private final long timeoutMs;
  private final Refused refused;
  private final Runnable disarm;
  /** Set by whichever comes first: the stage's thread or the watchdog's. */
  private final AtomicBoolean told = new AtomicBoolean();
  private volatile boolean timedOut;
  /** Confined to the stage that drives the engine. */
  private boolean disarmed;

  public HandshakeBoundEngine(SSLEngine engine, Duration timeout, Refused refused, Watchdog watchdog) {
    super(engine);
    this.timeoutMs = timeout.toMillis();
    this.deadline = System.nanoTime() + timeout.toNanos();
    this.refused = refused;
    this.disarm = watchdog.arm(timeout, this::expired);
  }

  @Override
  public SSLEngineResult wrap(ByteBuffer[] srcs, int offset, int length, ByteBuffer dst) throws SSLException {
    if (timedOut()) return OVER;
    try {
      return settled(super.wrap(srcs, offset, length, dst));
    } catch (SSLException e) {
      fail(e.getMessage());
      throw e;
    }
  }

  @Override
  public SSLEngineResult unwrap(ByteBuffer src, ByteBuffer[] dsts, int offset, int length) throws SSLException {
    if (timedOut()) return OVER;
    try {
      return settled(super.unwrap(src, dsts, offset, length));
    } catch (SSLException e) {
      fail(e.getMessage());
      throw e;
    }
  }

  private SSLEngineResult settled(SSLEngineResult result) {
    if (handshakeFinished()) disarm();
    return result;
  }

  /** Once the handshake finished or failed: the watchdog would find nothing to do, but holds the engine till then. */
  private void disarm() {
    if (disarmed) return;
    disarmed = true;
    disarm.run();
  }

  /** Whether the handshake is over by the timeout: the first call that finds it so throws why. */
  private boolean timedOut() throws SSLHandshakeException {
    if (timedOut) return true;
    if (handshakeFinished() || System.nanoTime() - deadline < 0) return false;
    timedOut = true;
    String reason = timeoutReason();
    fail(reason);
    super.closeOutbound();
    try {
      super.closeInbound();
    } catch (SSLException noCloseNotify) {
      // JSSE's complaint that the client did not close first: known, and the engine is closed all the same
    }
    throw new SSLHandshakeException(reason);
  }

  /**
   * The watchdog's call, on its thread: the failure to end the connection with when the handshake is not done by now
   * and no refusal was told (one was: the stage is ending already). It leaves the wrapped engine alone (SSLEngine is
   * not safe across threads): the stage, if it calls again, finds this engine over in both directions.
   */
  private SSLHandshakeException expired() {
    if (handshakeFinished() || !told.compareAndSet(false, true)) return null;
    timedOut = true;
    String reason = timeoutReason();
    refused.refused(reason);
    return new SSLHandshakeException(reason);
  }

  private String timeoutReason() {
    return "the TLS handshake did not complete within " + timeoutMs + " ms";
  }

  private void fail(String reason) {
    // after the handshake only a refused renegotiation is a refusal (not a reset, nor the client's close)
    if ((handshakeFinished() && !renegotiationRefused()) || !told.compareAndSet(false, true)) return;
    disarm();
    refused.refused(reason == null ? "handshake failed" : reason);
  }

  @Override
  public void closeInbound() throws SSLException {
    fail("the connection ended within the handshake");
    if (!timedOut) super.closeInbound();
  }

  @Override
  public boolean isInboundDone() {
    return timedOut || super.isInboundDone();
  }

  @Override
  public boolean isOutboundDone() {
    return timedOut || super.isOutboundDone();
  }

  @Override
  public SSLEngineResult.HandshakeStatus getHandshakeStatus() {
    return timedOut ? SSLEngineResult.HandshakeStatus.NOT_HANDSHAKING : super.getHandshakeStatus();
  }
}
