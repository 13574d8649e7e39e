package dev.fulcrum.nio;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.SocketChannel;

/**
 * A socket whose first bytes were read already (after a PROXY header, the start of a TLS handshake): reads give those
 * bytes back first, then read the socket.
 */
public final class PrefixedChannel implements ByteChannel {
  private final ByteBuffer prefix;
  private final SocketChannel socket;

  public PrefixedChannel(ByteBuffer prefix, SocketChannel socket) {
    this.prefix = prefix;
    this.socket = socket;
  }

  @Override
  public int read(ByteBuffer into) throws IOException {
    if (!prefix.hasRemaining()) return socket.read(into);
    int n = Math.min(prefix.remaining(), into.remaining());
    ByteBuffer part = prefix.duplicate();
    part.limit(part.position() + n);
    into.put(part);
    prefix.position(prefix.position() + n);
    return n;
  }

  /** Whether bytes read before are still to be given back. */
  boolean holdsPrefix() {
    return prefix.hasRemaining();
  }

  @Override
  public int write(ByteBuffer from) throws IOException {
    return socket.write(from);
  }

  @Override
  public boolean isOpen() {
    return socket.isOpen();
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
