package dev.fulcrum.nio;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.SocketChannel;
import java.util.function.Supplier;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSession;
import tlschannel.BufferAllocator;
import tlschannel.ClientTlsChannel;
import tlschannel.NeedsReadException;
import tlschannel.NeedsWriteException;
import tlschannel.ServerTlsChannel;
import tlschannel.TlsChannel;

/**
 * How a socket's bytes are moved: as they are, or through TLS. Non-blocking either way: a call that cannot go on
 * returns 0, and {@link #wantsWrite()} says when TLS must write (a handshake message) before it can read again.
 * Shared by every nio listener and upstream: HTTP (both sides), L4 and health checks.
 */
public abstract class Transport {
  public abstract int read(ByteBuffer into) throws IOException;

  public abstract long write(ByteBuffer[] from) throws IOException;

  public abstract int write(ByteBuffer from) throws IOException;

  /** Ends the sending side: a TCP half-close (after TLS's close_notify). */
  public abstract void shutdownOutput() throws IOException;

  public abstract void close();

  /** TLS only: the last read stopped because a handshake message must be written first. */
  public boolean wantsWrite() {
    return false;
  }

  /**
   * TLS only: the last write stopped with encrypted bytes still inside TLS (the plaintext it took counts as
   * written): another write, even of nothing, once the socket is writable sends them.
   */
  public boolean writePending() {
    return false;
  }

  /** The protocol ALPN chose ("h2", "http/1.1"), or null: plain, no ALPN, or the handshake is not done. */
  public String applicationProtocol() {
    return null;
  }

  /** TLS only: decrypted bytes may wait inside TLS, which no selector event will announce. */
  public boolean mayHoldInput() {
    return false;
  }

  /** Whether this server's TLS refused a client's renegotiation (a refusal after the handshake). */
  public boolean renegotiationRefused() {
    return false;
  }

  /** The TLS session once the handshake is done, else null. */
  public SSLSession session() {
    return null;
  }

  /**
   * Drives the TLS handshake on: true once it is done (at once for a plain socket), false while it waits for the
   * socket ({@link #wantsWrite()} says which way). A refused handshake throws (an {@code SSLException}).
   */
  public boolean handshake() throws IOException {
    return true;
  }

  /** Plain, but reads first give back bytes already read from the socket (after a PROXY header). */
  public static Transport prefixed(ByteBuffer prefix, SocketChannel channel) {
    return prefix.hasRemaining() ? new Prefixed(new PrefixedChannel(prefix, channel), channel) : new Plain(channel);
  }

  public static Transport plain(SocketChannel channel) {
    return new Plain(channel);
  }

  /**
   * TLS as the server, over {@code in} (the socket, or the socket behind bytes read already); the engine is made once
   * the client's hello arrived, and the handshake begins with the first read.
   */
  public static Transport tlsServer(ByteChannel in, SocketChannel socket, SSLContext context,
      Supplier<SSLEngine> engines, BufferAllocator encryptedBuffers) {
    Tls transport = new Tls(socket);
    transport.start(ServerTlsChannel.newBuilder(in, context)
        .withEngineFactory(ignored -> transport.watch(engines.get()))
        .withEncryptedBufferAllocator(encryptedBuffers)
        .build());
    return transport;
  }

  /** TLS as the client, over a connected socket: the caller drives the handshake ({@link #handshake()}). */
  public static Transport tlsClient(SocketChannel socket, SSLEngine engine) {
    Tls transport = new Tls(socket);
    transport.start(ClientTlsChannel.newBuilder(socket, transport.watch(engine)).build());
    return transport;
  }

  private static class Plain extends Transport {
    final SocketChannel channel;

    Plain(SocketChannel channel) {
      this.channel = channel;
    }

    @Override
    public int read(ByteBuffer into) throws IOException {
      return channel.read(into);
    }

    @Override
    public long write(ByteBuffer[] from) throws IOException {
      return channel.write(from);
    }

    @Override
    public int write(ByteBuffer from) throws IOException {
      return channel.write(from);
    }

    @Override
    public void shutdownOutput() throws IOException {
      channel.shutdownOutput();
    }

    @Override
    public void close() {
      closeQuietly(channel);
    }
  }

  /** A plain socket some of whose input was read already: no selector event announces those bytes. */
  private static final class Prefixed extends Plain {
    private final PrefixedChannel prefixed;

    Prefixed(PrefixedChannel prefixed, SocketChannel channel) {
      super(channel);
      this.prefixed = prefixed;
    }

    @Override
    public int read(ByteBuffer into) throws IOException {
      return prefixed.read(into);
    }

    @Override
    public boolean mayHoldInput() {
      return prefixed.holdsPrefix();
    }
  }

  private static final class Tls extends Transport {
    private enum Phase { HANDSHAKING, ESTABLISHED }

    private TlsChannel tls;
    private final SocketChannel channel;
    /** Null until a server's engine is made (with the client's hello). */
    private HandshakeWatchingEngine engine;
    private Phase phase = Phase.HANDSHAKING;
    private boolean wantsWrite;
    private boolean writePending;

    Tls(SocketChannel channel) {
      this.channel = channel;
    }

    void start(TlsChannel tls) {
      this.tls = tls;
    }

    HandshakeWatchingEngine watch(SSLEngine made) {
      engine = new HandshakeWatchingEngine(made);
      return engine;
    }

    @Override
    public boolean renegotiationRefused() {
      return engine != null && engine.renegotiationRefused();
    }

    /** Whether the engine reported its handshake finished (not undone by a later close). */
    private boolean established() {
      if (phase == Phase.HANDSHAKING && engine != null && engine.handshakeFinished()) phase = Phase.ESTABLISHED;
      return phase == Phase.ESTABLISHED;
    }

    @Override
    public int read(ByteBuffer into) throws IOException {
      wantsWrite = false;
      try {
        return tls.read(into);
      } catch (NeedsReadException e) {
        return 0;
      } catch (NeedsWriteException e) {
        wantsWrite = true;
        return 0;
      }
    }

    @Override
    public long write(ByteBuffer[] from) throws IOException {
      long before = 0;
      for (ByteBuffer b : from) before += b.remaining();
      try {
        long n = tls.write(from);
        writePending = false;
        return n;
      } catch (NeedsReadException | NeedsWriteException e) {
        // TLS may have taken (and encrypted) some of the bytes before the socket filled up: they count as written
        writePending = true;
        long after = 0;
        for (ByteBuffer b : from) after += b.remaining();
        return before - after;
      }
    }

    @Override
    public int write(ByteBuffer from) throws IOException {
      int before = from.remaining();
      try {
        int n = tls.write(from);
        writePending = false;
        return n;
      } catch (NeedsReadException | NeedsWriteException e) {
        writePending = true;
        return before - from.remaining();
      }
    }

    @Override
    public boolean writePending() {
      return writePending;
    }

    @Override
    public String applicationProtocol() {
      if (session() == null) return null;
      String chosen = engine.getApplicationProtocol();
      return chosen == null || chosen.isEmpty() ? null : chosen;
    }

    @Override
    public void shutdownOutput() throws IOException {
      try {
        tls.shutdown();
      } catch (NeedsReadException | NeedsWriteException e) {
        // close_notify could not go out now: the half-close below still tells the client the response ended
      }
      channel.shutdownOutput();
    }

    @Override
    public void close() {
      try {
        tls.close();
      } catch (IOException ignored) {
        // the socket is closed either way
      }
      closeQuietly(channel);
    }

    @Override
    public boolean handshake() throws IOException {
      wantsWrite = false;
      try {
        tls.handshake();
      } catch (NeedsReadException e) {
        return false;
      } catch (NeedsWriteException e) {
        wantsWrite = true;
        return false;
      }
      // tls-channel also returns when the engine ended the handshake with an alert of its own (a hello it refuses):
      // the reason waits in the engine, and comes out of the next read
      if (!established()) {
        try {
          tls.read(ByteBuffer.allocate(1));
        } catch (NeedsReadException | NeedsWriteException e) {
          // no reason kept: the one below
        }
        throw new javax.net.ssl.SSLHandshakeException("the TLS handshake ended without a session");
      }
      return true;
    }

    @Override
    public boolean wantsWrite() {
      return wantsWrite;
    }

    @Override
    public boolean mayHoldInput() {
      return true;
    }

    @Override
    public SSLSession session() {
      return established() ? engine.getSession() : null;
    }
  }

  private static void closeQuietly(SocketChannel channel) {
    try {
      channel.close();
    } catch (IOException ignored) {
      // closing is all that is left to do
    }
  }
}
