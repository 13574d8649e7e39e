package dev.fulcrum.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.config.TlsSettings;
import dev.fulcrum.nio.HandshakeWatchingEngine;
import dev.fulcrum.testing.TestCertificates;
import dev.fulcrum.testing.TlsClients;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The server engines of both providers, driven in memory (no sockets) against a JSSE client: the handshake counts as
 * done only when the engine reported FINISHED (never by the session's protocol, which Conscrypt names on a refused
 * hello and JSSE names mid-handshake), and the Pekko engine's wrapper tells a refusal once, ends a handshake past its
 * timeout in both directions at once (at its next call, or when its watchdog fires: told once either way, the watchdog
 * disarmed once the handshake finished or failed), and asks for the wrap of a pending close_notify as JSSE does.
 */
class HandshakeBoundEngineTest {
  private static Path dir;

  @BeforeAll
  static void certificates() throws Exception {
    dir = Files.createTempDirectory("fulcrum-bound-engine");
    TestCertificates.selfSigned(dir, "h", true, "h.example");
  }

  private static TlsContext context(TlsSettings.Provider provider) throws TlsException {
    return TlsContext.load("l", new TlsSettings(
        List.of(new TlsSettings.Certificate(Optional.of(dir.resolve("h.pem")), Optional.of(dir.resolve("h.key")),
            Optional.empty(), "", "h")),
        List.of("TLSv1.3", "TLSv1.2"), List.of(), TlsSettings.ClientAuth.NONE, Optional.empty(), Duration.ofSeconds(10),
        provider));
  }

  @ParameterizedTest
  @EnumSource(TlsSettings.Provider.class)
  void aCompletedHandshakeIsFinishedAndNotRefused(TlsSettings.Provider provider) throws Exception {
    List<String> refusals = new ArrayList<>();
    CapturingWatchdog watchdog = new CapturingWatchdog();
    HandshakeBoundEngine server = new HandshakeBoundEngine(context(provider).newServerEngine(), Duration.ofSeconds(30),
        refusals::add, watchdog);
    assertEquals(Duration.ofSeconds(30), watchdog.timeout);
    server.beginHandshake();
    SSLEngine client = TlsClients.trusting(dir.resolve("h.pem")).createSSLEngine("h.example", 443);
    client.setUseClientMode(true);

    // the server's session has a protocol before the end (JSSE) but the handshake is not finished until it is
    ByteBuffer toServer = ByteBuffer.allocate(1 << 16);
    ByteBuffer toClient = ByteBuffer.allocate(1 << 16);
    ByteBuffer plain = ByteBuffer.allocate(1 << 16);
    client.wrap(ByteBuffer.allocate(0), toServer);
    toServer.flip();
    unwrapAll(server, toServer, plain);
    assertFalse(server.handshakeFinished(), "finished after the hello alone");
    for (int turn = 0; turn < 10 && !(server.handshakeFinished() && done(client)); turn++) {
      toServer.compact();
      wrapAll(server, toClient);
      toClient.flip();
      unwrapAll(client, toClient, plain);
      toClient.compact();
      wrapAll(client, toServer);
      toServer.flip();
      unwrapAll(server, toServer, plain);
    }
    assertTrue(server.handshakeFinished(), provider + ": the server never reported FINISHED");
    assertEquals(List.of(), refusals);
    assertEquals(1, watchdog.disarmed, "the watchdog disarmed once, when the handshake finished");
    assertEquals(null, watchdog.expired.get(), "a finished handshake ended by its watchdog");

    // a close_notify to send is asked for by NEED_WRAP (Pekko's stage sends it, and closes, only then)
    server.closeOutbound();
    assertEquals(SSLEngineResult.HandshakeStatus.NEED_WRAP, server.getHandshakeStatus());
    toClient.clear();
    SSLEngineResult result = server.wrap(ByteBuffer.allocate(0), toClient);
    assertEquals(SSLEngineResult.Status.CLOSED, result.getStatus());
    assertTrue(toClient.position() > 0, "no close_notify");
    assertTrue(server.isOutboundDone());
    assertEquals(List.of(), refusals, "a close after the handshake is no refusal");
  }

  @ParameterizedTest
  @EnumSource(TlsSettings.Provider.class)
  void aRefusedTls11HelloIsNotFinishedAndToldOnce(TlsSettings.Provider provider) throws Exception {
    List<String> refusals = new ArrayList<>();
    HandshakeBoundEngine server = new HandshakeBoundEngine(context(provider).newServerEngine(), Duration.ofSeconds(30),
        refusals::add, new CapturingWatchdog());
    server.beginHandshake();
    HandshakeWatchingEngine watched = server;
    assertThrows(SSLException.class, () -> {
      ByteBuffer hello = ByteBuffer.wrap(TlsClients.tls11ClientHello());
      unwrapAll(server, hello, ByteBuffer.allocate(1 << 16));
      wrapAll(server, ByteBuffer.allocate(1 << 16)); // JSSE refuses when it runs its task and writes the alert
    });
    server.closeInbound();
    assertFalse(watched.handshakeFinished(), provider + ": a refused hello counted as a handshake");
    assertEquals(1, refusals.size(), refusals.toString());
  }

  @ParameterizedTest
  @EnumSource(TlsSettings.Provider.class)
  void pastTheTimeoutTheEngineIsOverInBothDirections(TlsSettings.Provider provider) throws Exception {
    List<String> refusals = new ArrayList<>();
    HandshakeBoundEngine server = new HandshakeBoundEngine(context(provider).newServerEngine(), Duration.ZERO,
        refusals::add, new CapturingWatchdog());
    server.beginHandshake();
    ByteBuffer firstByte = ByteBuffer.wrap(TlsClients.tls11ClientHello(), 0, 1);
    SSLHandshakeException thrown = assertThrows(SSLHandshakeException.class,
        () -> server.unwrap(firstByte, ByteBuffer.allocate(1 << 16)));
    assertEquals("the TLS handshake did not complete within 0 ms", thrown.getMessage());
    // what Pekko's stage asks next: it completes (closing the connection) once either direction is done
    server.closeInbound();
    assertTrue(server.isOutboundDone() && server.isInboundDone());
    assertEquals(SSLEngineResult.HandshakeStatus.NOT_HANDSHAKING, server.getHandshakeStatus());
    assertEquals(SSLEngineResult.Status.CLOSED, server.wrap(ByteBuffer.allocate(0), ByteBuffer.allocate(1 << 16)).getStatus());
    assertEquals(List.of("the TLS handshake did not complete within 0 ms"), refusals);
    assertFalse(server.handshakeFinished());
  }

  @ParameterizedTest
  @EnumSource(TlsSettings.Provider.class)
  void theWatchdogEndsAnUnfinishedHandshakeOnceAndTellsIt(TlsSettings.Provider provider) throws Exception {
    List<String> refusals = new ArrayList<>();
    CapturingWatchdog watchdog = new CapturingWatchdog();
    HandshakeBoundEngine server = new HandshakeBoundEngine(context(provider).newServerEngine(), Duration.ofSeconds(1),
        refusals::add, watchdog);
    server.beginHandshake();
    // ten bytes of a hello, then nothing: the stage would not call the engine again
    SSLEngineResult partial = server.unwrap(ByteBuffer.wrap(TlsClients.modernClientHello("h.example"), 0, 10),
        ByteBuffer.allocate(1 << 16));
    assertEquals(SSLEngineResult.Status.BUFFER_UNDERFLOW, partial.getStatus());

    SSLHandshakeException ended = watchdog.expired.get();
    assertEquals("the TLS handshake did not complete within 1000 ms", ended.getMessage());
    assertEquals(null, watchdog.expired.get(), "ended twice");
    // the stage, should it call again, finds the engine over both ways, and hears nothing more of it
    assertTrue(server.isOutboundDone() && server.isInboundDone());
    assertEquals(SSLEngineResult.Status.CLOSED, server.unwrap(ByteBuffer.allocate(0), ByteBuffer.allocate(1 << 16))
        .getStatus());
    server.closeInbound();
    assertEquals(List.of("the TLS handshake did not complete within 1000 ms"), refusals);
  }

  @ParameterizedTest
  @EnumSource(TlsSettings.Provider.class)
  void aRefusedHandshakeDisarmsItsWatchdog(TlsSettings.Provider provider) throws Exception {
    List<String> refusals = new ArrayList<>();
    CapturingWatchdog watchdog = new CapturingWatchdog();
    HandshakeBoundEngine server = new HandshakeBoundEngine(context(provider).newServerEngine(), Duration.ofSeconds(1),
        refusals::add, watchdog);
    server.beginHandshake();
    try {
      server.closeInbound(); // the client left, and its close came through the engine
    } catch (SSLException noCloseNotify) {
      // JSSE's complaint, and the stage goes on the same (it fails, closing the connection)
    }
    assertEquals(1, watchdog.disarmed);
    assertEquals(null, watchdog.expired.get(), "told twice");
    assertEquals(List.of("the connection ended within the handshake"), refusals);
  }

  /** Arms nothing: the test calls the watchdog's check as its timer would. */
  private static final class CapturingWatchdog implements HandshakeBoundEngine.Watchdog {
    Duration timeout;
    java.util.function.Supplier<SSLHandshakeException> expired;
    int disarmed;

    @Override
    public Runnable arm(Duration timeout, java.util.function.Supplier<SSLHandshakeException> expired) {
      this.timeout = timeout;
      this.expired = expired;
      return () -> disarmed++;
    }
  }

  private static boolean done(SSLEngine engine) {
    return engine.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.NOT_HANDSHAKING;
  }

  private static void wrapAll(SSLEngine engine, ByteBuffer out) throws SSLException {
    for (int i = 0; i < 10 && engine.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.NEED_WRAP; i++) {
      engine.wrap(ByteBuffer.allocate(0), out);
      runTasks(engine);
    }
  }

  private static void unwrapAll(SSLEngine engine, ByteBuffer in, ByteBuffer plain) throws SSLException {
    while (in.hasRemaining()) {
      SSLEngineResult result = engine.unwrap(in, plain);
      runTasks(engine);
      if (result.bytesConsumed() == 0) return;
    }
  }

  private static void runTasks(SSLEngine engine) {
    for (Runnable task = engine.getDelegatedTask(); task != null; task = engine.getDelegatedTask()) task.run();
  }
}
