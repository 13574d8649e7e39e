package dev.fulcrum.nio;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.SocketChannel;
import javax.net.ssl.SSLSession;
import tlschannel.NeedsReadException;
import tlschannel.NeedsWriteException;
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

  public static Transport tls(TlsChannel tls, SocketChannel channel) {
    return new Tls(tls, channel);
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
    private final TlsChannel tls;
    private final SocketChannel channel;
    private boolean wantsWrite;
    private boolean handshaken;
    private boolean writePending;

    Tls(TlsChannel tls, SocketChannel channel) {
      this.tls = tls;
      this.channel = channel;
    }

    @Override
    public int read(ByteBuffer into) throws IOException {
      wantsWrite = false;
      try {
        int n = tls.read(into);
        handshaken = true;
        return n;
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
      String chosen = tls.getSslEngine().getApplicationProtocol();
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
      // tls-channel also returns when JSSE ended the handshake with an alert of its own (a hello it refuses): the
      // reason waits in the engine, and comes out of the next read
      javax.net.ssl.SSLEngine engine = tls.getSslEngine();
      if (engine.isOutboundDone() || "NONE".equals(engine.getSession().getProtocol())) {
        try {
          tls.read(ByteBuffer.allocate(1));
        } catch (NeedsReadException | NeedsWriteException e) {
          // no reason kept: the one below
        }
        throw new javax.net.ssl.SSLHandshakeException("the TLS handshake ended without a session");
      }
      handshaken = true;
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
      if (!handshaken) {
        // done when the engine has a session, even before the first byte of data was read; a server's engine is
        // made only once the hello (and its SNI) arrived
        javax.net.ssl.SSLEngine engine = tls.getSslEngine();
        if (engine == null || "NONE".equals(engine.getSession().getProtocol())) return null;
        handshaken = true;
      }
      return tls.getSslEngine().getSession();
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
