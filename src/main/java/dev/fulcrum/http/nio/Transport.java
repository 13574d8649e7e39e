package dev.fulcrum.http.nio;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import javax.net.ssl.SSLSession;
import tlschannel.NeedsReadException;
import tlschannel.NeedsWriteException;
import tlschannel.TlsChannel;

/**
 * How a socket's bytes are moved: as they are, or through TLS. Non-blocking either way: a call that cannot go on
 * returns 0, and {@link #wantsWrite()} says when TLS must write (a handshake message) before it can read again.
 */
abstract class Transport {
  abstract int read(ByteBuffer into) throws IOException;

  abstract long write(ByteBuffer[] from) throws IOException;

  abstract int write(ByteBuffer from) throws IOException;

  /** Ends the sending side: a TCP half-close (after TLS's close_notify). */
  abstract void shutdownOutput() throws IOException;

  abstract void close();

  /** TLS only: the last read stopped because a handshake message must be written first. */
  boolean wantsWrite() {
    return false;
  }

  /**
   * TLS only: the last write stopped with encrypted bytes still inside TLS (the plaintext it took counts as
   * written): another write, even of nothing, once the socket is writable sends them.
   */
  boolean writePending() {
    return false;
  }

  /** TLS only: decrypted bytes may wait inside TLS, which no selector event will announce. */
  boolean mayHoldInput() {
    return false;
  }

  /** The protocol ALPN chose ("h2", "http/1.1"), or null: plain, no ALPN, or the handshake is not done. */
  String applicationProtocol() {
    return null;
  }

  /** The TLS session once the handshake is done, else null. */
  SSLSession session() {
    return null;
  }

  static Transport plain(SocketChannel channel) {
    return new Plain(channel);
  }

  static Transport tls(TlsChannel tls, SocketChannel channel) {
    return new Tls(tls, channel);
  }

  private static final class Plain extends Transport {
    private final SocketChannel channel;

    Plain(SocketChannel channel) {
      this.channel = channel;
    }

    @Override
    int read(ByteBuffer into) throws IOException {
      return channel.read(into);
    }

    @Override
    long write(ByteBuffer[] from) throws IOException {
      return channel.write(from);
    }

    @Override
    int write(ByteBuffer from) throws IOException {
      return channel.write(from);
    }

    @Override
    void shutdownOutput() throws IOException {
      channel.shutdownOutput();
    }

    @Override
    void close() {
      closeQuietly(channel);
    }
  }

  private static final class Tls extends Transport {
    private final TlsChannel tls;
    private final SocketChannel channel;
    private boolean wantsWrite;
    private boolean writePending;
    private boolean handshaken;

    Tls(TlsChannel tls, SocketChannel channel) {
      this.tls = tls;
      this.channel = channel;
    }

    @Override
    int read(ByteBuffer into) throws IOException {
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
    long write(ByteBuffer[] from) throws IOException {
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
    int write(ByteBuffer from) throws IOException {
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
    boolean writePending() {
      return writePending;
    }

    @Override
    void shutdownOutput() throws IOException {
      try {
        tls.shutdown();
      } catch (NeedsReadException | NeedsWriteException e) {
        // close_notify could not go out now: the half-close below still tells the client the response ended
      }
      channel.shutdownOutput();
    }

    @Override
    void close() {
      try {
        tls.close();
      } catch (IOException ignored) {
        // the socket is closed either way
      }
      closeQuietly(channel);
    }

    @Override
    boolean wantsWrite() {
      return wantsWrite;
    }

    @Override
    boolean mayHoldInput() {
      return true;
    }

    @Override
    SSLSession session() {
      return handshaken ? tls.getSslEngine().getSession() : null;
    }

    @Override
    String applicationProtocol() {
      if (!handshaken) return null;
      String chosen = tls.getSslEngine().getApplicationProtocol();
      return chosen == null || chosen.isEmpty() ? null : chosen;
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
