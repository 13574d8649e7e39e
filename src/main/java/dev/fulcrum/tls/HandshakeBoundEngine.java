package dev.fulcrum.tls;

import dev.fulcrum.nio.HandshakeWatchingEngine;
import java.nio.ByteBuffer;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;

/**
 * A server engine for a TLS stage Fulcrum does not drive itself (Pekko HTTP's): it tells {@code refused} once when the
 * handshake fails (an alert, plain text, a hello the engine refuses, the client closing within it) and fails the
 * handshake itself once {@code timeout} has passed since the engine was made, at the next bytes either way: Pekko HTTP
 * offers no timer for a handshake, and the engine is only called when bytes move. A client that trickles its hello in
 * is thus closed at its first byte after the timeout; one that sends nothing more is left to the listener's idle
 * timeout.
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

  private static final SSLEngineResult OVER =
      new SSLEngineResult(SSLEngineResult.Status.CLOSED, SSLEngineResult.HandshakeStatus.NOT_HANDSHAKING, 0, 0);

  private final long deadline;
  private final long timeoutMs;
  private final Refused refused;
  /** Confined to the stage that drives the engine (one thread at a time, as SSLEngine's contract asks anyway). */
  private boolean told;
  private boolean timedOut;

  public HandshakeBoundEngine(SSLEngine engine, java.time.Duration timeout, Refused refused) {
    super(engine);
    this.timeoutMs = timeout.toMillis();
    this.deadline = System.nanoTime() + timeout.toNanos();
    this.refused = refused;
  }

  @Override
  public SSLEngineResult wrap(ByteBuffer[] srcs, int offset, int length, ByteBuffer dst) throws SSLException {
    if (timedOut()) return OVER;
    try {
      return super.wrap(srcs, offset, length, dst);
    } catch (SSLException e) {
      fail(e.getMessage());
      throw e;
    }
  }

  @Override
  public SSLEngineResult unwrap(ByteBuffer src, ByteBuffer[] dsts, int offset, int length) throws SSLException {
    if (timedOut()) return OVER;
    try {
      return super.unwrap(src, dsts, offset, length);
    } catch (SSLException e) {
      fail(e.getMessage());
      throw e;
    }
  }

  /** Whether the handshake is over by the timeout: the first call that finds it so throws why. */
  private boolean timedOut() throws SSLHandshakeException {
    if (timedOut) return true;
    if (handshakeFinished() || System.nanoTime() - deadline < 0) return false;
    timedOut = true;
    String reason = "the TLS handshake did not complete within " + timeoutMs + " ms";
    fail(reason);
    super.closeOutbound();
    try {
      super.closeInbound();
    } catch (SSLException noCloseNotify) {
      // JSSE's complaint that the client did not close first: known, and the engine is closed all the same
    }
    throw new SSLHandshakeException(reason);
  }

  private void fail(String reason) {
    // after the handshake only a refused renegotiation is a refusal (not a reset, nor the client's close)
    if ((handshakeFinished() && !renegotiationRefused()) || told) return;
    told = true;
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
