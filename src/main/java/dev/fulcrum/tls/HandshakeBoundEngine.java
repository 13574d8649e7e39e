package dev.fulcrum.tls;

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
 * A server engine for a TLS stage Fulcrum does not drive itself (Pekko HTTP's): it tells {@code refused} once when the
 * handshake fails (an alert, plain text, a hello JSSE refuses, the client closing within it) and fails the handshake
 * itself once {@code timeout} has passed since the engine was made, at the next bytes either way: Pekko HTTP offers no
 * timer for a handshake, and the engine is only called when bytes move. A client that trickles its hello in is thus
 * closed at its first byte after the timeout; one that sends nothing more is left to the listener's idle timeout.
 * Everything else is the wrapped engine's.
 */
public final class HandshakeBoundEngine extends SSLEngine {
  /** Hears a refused handshake once, with the reason. */
  public interface Refused {
    void refused(String reason);
  }

  private final SSLEngine engine;
  private final long deadline;
  private final long timeoutMs;
  private final Refused refused;
  /** Confined to the stage that drives the engine (one thread at a time, as SSLEngine's contract asks anyway). */
  private boolean handshaken;
  private boolean told;

  public HandshakeBoundEngine(SSLEngine engine, java.time.Duration timeout, Refused refused) {
    super(engine.getPeerHost(), engine.getPeerPort());
    this.engine = engine;
    this.timeoutMs = timeout.toMillis();
    this.deadline = System.nanoTime() + timeout.toNanos();
    this.refused = refused;
  }

  @Override
  public SSLEngineResult wrap(ByteBuffer[] srcs, int offset, int length, ByteBuffer dst) throws SSLException {
    checkDeadline();
    try {
      return seen(engine.wrap(srcs, offset, length, dst));
    } catch (SSLException e) {
      fail(e.getMessage());
      throw e;
    }
  }

  @Override
  public SSLEngineResult unwrap(ByteBuffer src, ByteBuffer[] dsts, int offset, int length) throws SSLException {
    checkDeadline();
    try {
      return seen(engine.unwrap(src, dsts, offset, length));
    } catch (SSLException e) {
      fail(e.getMessage());
      throw e;
    }
  }

  private void checkDeadline() throws SSLHandshakeException {
    if (handshaken || System.nanoTime() - deadline < 0) return;
    String reason = "the TLS handshake did not complete within " + timeoutMs + " ms";
    fail(reason);
    engine.closeOutbound();
    throw new SSLHandshakeException(reason);
  }

  private SSLEngineResult seen(SSLEngineResult result) {
    if (result.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.FINISHED) handshaken = true;
    return result;
  }

  private void fail(String reason) {
    if (handshaken || told) return;
    told = true;
    refused.refused(reason == null ? "handshake failed" : reason);
  }

  @Override
  public void closeInbound() throws SSLException {
    fail("the connection ended within the handshake");
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
    return engine.getHandshakeStatus();
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
