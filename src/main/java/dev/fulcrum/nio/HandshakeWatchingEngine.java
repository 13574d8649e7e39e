package dev.fulcrum.nio;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.function.BiFunction;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSession;

/**
 * An engine that knows whether its handshake completed: the wrapped engine said so by a FINISHED result, which
 * SSLEngine reports once a handshake is done. The session's protocol cannot tell: JSSE names the protocol as soon as
 * it chose one, mid-handshake, and Conscrypt names one on a session whose handshake it refused. Everything else is
 * the wrapped engine's, but for two answers made those of JSSE whatever the provider (Pekko's TLS stage was written
 * against JSSE's), and a server's refusal of renegotiation.
 */
public class HandshakeWatchingEngine extends SSLEngine {
  private final SSLEngine engine;
  /**
   * Written by the caller that drives the engine (one at a time, as SSLEngine's contract asks anyway); volatile as the
   * pekko engine's handshake timer reads it from a scheduler thread (written once: the event loops' reads stay cheap).
   */
  private volatile boolean finished;
  /** closeOutbound was called: a close_notify waits to be wrapped until the engine's outbound is done. */
  private boolean closing;
  /** A client's renegotiation was refused: a refusal to count as those of a first handshake are. */
  private boolean renegotiationRefused;

  public HandshakeWatchingEngine(SSLEngine engine) {
    super(engine.getPeerHost(), engine.getPeerPort());
    this.engine = engine;
  }

  /** The handshake completed (a later refusal or close does not undo it). */
  public final boolean handshakeFinished() {
    return finished;
  }

  /** This server engine refused a client's renegotiation (and closed). */
  public final boolean renegotiationRefused() {
    return renegotiationRefused;
  }

  @Override
  public SSLEngineResult wrap(ByteBuffer[] srcs, int offset, int length, ByteBuffer dst) throws SSLException {
    return seen(engine.wrap(srcs, offset, length, dst));
  }

  @Override
  public SSLEngineResult unwrap(ByteBuffer src, ByteBuffer[] dsts, int offset, int length) throws SSLException {
    boolean established = finished;
    SSLEngineResult result;
    try {
      result = seen(engine.unwrap(src, dsts, offset, length));
    } catch (SSLException e) {
      // Conscrypt (BoringSSL) refuses a client's renegotiation itself, with this reason
      if (established && !engine.getUseClientMode() && String.valueOf(e.getMessage()).contains("NO_RENEGOTIATION")) {
        renegotiationRefused = true;
      }
      throw e;
    }
    if (established && renegotiating(result)) {
      renegotiationRefused = true;
      engine.closeOutbound();
      throw new SSLHandshakeException("TLS renegotiation refused");
    }
    return result;
  }

  /**
   * A client's hello after the handshake, on TLS 1.2 (1.3 has no renegotiation; its key updates are not one): a
   * full handshake's cost at the client's will, which Conscrypt refuses and JSSE serves unless told otherwise, and
   * only JVM-wide (a system property read once).
   */
  private boolean renegotiating(SSLEngineResult result) {
    SSLEngineResult.HandshakeStatus status = result.getHandshakeStatus();
    // a close_notify's unwrap (CLOSED, then NEED_WRAP for the answer) is no renegotiation
    return !engine.getUseClientMode()
        && result.getStatus() == SSLEngineResult.Status.OK
        && status != SSLEngineResult.HandshakeStatus.NOT_HANDSHAKING
        && status != SSLEngineResult.HandshakeStatus.FINISHED
        && !"TLSv1.3".equals(engine.getSession().getProtocol());
  }

  private SSLEngineResult seen(SSLEngineResult result) {
    if (!finished && result.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.FINISHED) finished = true;
    return result;
  }

  @Override
  public void closeInbound() throws SSLException {
    engine.closeInbound();
  }

  @Override
  public Runnable getDelegatedTask() {
    return engine.getDelegatedTask();
  }

  @Override
  public boolean isInboundDone() {
    return engine.isInboundDone();
  }

  @Override
  public void closeOutbound() {
    closing = true;
    engine.closeOutbound();
  }

  @Override
  public boolean isOutboundDone() {
    return engine.isOutboundDone();
  }

  @Override
  public String[] getSupportedCipherSuites() {
    return engine.getSupportedCipherSuites();
  }

  @Override
  public String[] getEnabledCipherSuites() {
    return engine.getEnabledCipherSuites();
  }

  @Override
  public void setEnabledCipherSuites(String[] suites) {
    engine.setEnabledCipherSuites(suites);
  }

  @Override
  public String[] getSupportedProtocols() {
    return engine.getSupportedProtocols();
  }

  @Override
  public String[] getEnabledProtocols() {
    return engine.getEnabledProtocols();
  }

  @Override
  public void setEnabledProtocols(String[] protocols) {
    engine.setEnabledProtocols(protocols);
  }

  @Override
  public SSLSession getSession() {
    return engine.getSession();
  }

  @Override
  public SSLSession getHandshakeSession() {
    return engine.getHandshakeSession();
  }

  @Override
  public void beginHandshake() throws SSLException {
    engine.beginHandshake();
  }

  @Override
  public SSLEngineResult.HandshakeStatus getHandshakeStatus() {
    SSLEngineResult.HandshakeStatus status = engine.getHandshakeStatus();
    // a close_notify waits to be wrapped: JSSE says NEED_WRAP, Conscrypt NOT_HANDSHAKING, and Pekko's TLS stage wraps
    // (and then closes the connection) only on NEED_WRAP: a "Connection: close" answer stayed open with Conscrypt
    if (closing && status == SSLEngineResult.HandshakeStatus.NOT_HANDSHAKING && !engine.isOutboundDone()) {
      return SSLEngineResult.HandshakeStatus.NEED_WRAP;
    }
    return status;
  }

  @Override
  public void setUseClientMode(boolean mode) {
    engine.setUseClientMode(mode);
  }

  @Override
  public boolean getUseClientMode() {
    return engine.getUseClientMode();
  }

  @Override
  public void setNeedClientAuth(boolean need) {
    engine.setNeedClientAuth(need);
  }

  @Override
  public boolean getNeedClientAuth() {
    return engine.getNeedClientAuth();
  }

  @Override
  public void setWantClientAuth(boolean want) {
    engine.setWantClientAuth(want);
  }

  @Override
  public boolean getWantClientAuth() {
    return engine.getWantClientAuth();
  }

  @Override
  public void setEnableSessionCreation(boolean flag) {
    engine.setEnableSessionCreation(flag);
  }

  @Override
  public boolean getEnableSessionCreation() {
    return engine.getEnableSessionCreation();
  }

  @Override
  public SSLParameters getSSLParameters() {
    return engine.getSSLParameters();
  }

  @Override
  public void setSSLParameters(SSLParameters parameters) {
    engine.setSSLParameters(parameters);
  }

  @Override
  public String getApplicationProtocol() {
    return engine.getApplicationProtocol();
  }

  @Override
  public String getHandshakeApplicationProtocol() {
    return engine.getHandshakeApplicationProtocol();
  }

  @Override
  public void setHandshakeApplicationProtocolSelector(BiFunction<SSLEngine, List<String>, String> selector) {
    engine.setHandshakeApplicationProtocolSelector(selector);
  }

  @Override
  public BiFunction<SSLEngine, List<String>, String> getHandshakeApplicationProtocolSelector() {
    return engine.getHandshakeApplicationProtocolSelector();
  }
}
