package dev.fulcrum.nio;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import tlschannel.BufferAllocator;

/**
 * The encrypted-side buffers of the TLS connections of one event loop, reused: tls-channel takes a buffer for every
 * read and write and gives it back as soon as it is empty, which by default cost a fresh zeroed heap buffer (and a copy
 * into a temporary direct one at the socket) per call, three per small request. Loop thread only, as every TLS call of
 * the loop's connections is.
 */
public final class TlsBuffers implements BufferAllocator {
  /** tls-channel asks for 4 KiB, then doubles up to a whole record (17 KiB): each size its own free list. */
  private static final int[] SIZES = {4096, 8192, 16384, 17 * 1024};
  /** Enough for the connections of a loop that are mid-read or mid-write at any one time; the rest go to the GC. */
  private static final int KEPT_PER_SIZE = 64;

  @SuppressWarnings("unchecked")
  private final ArrayDeque<ByteBuffer>[] free = new ArrayDeque[SIZES.length];

  public TlsBuffers() {
    for (int i = 0; i < SIZES.length; i++) free[i] = new ArrayDeque<>();
  }

  @Override
  public ByteBuffer allocate(int size) {
    int i = sizeClass(size);
    if (i < 0) return ByteBuffer.allocateDirect(size);
    ByteBuffer kept = free[i].pollLast();
    return kept != null ? kept : ByteBuffer.allocateDirect(size);
  }

  @Override
  public void free(ByteBuffer buffer) {
    int i = sizeClass(buffer.capacity());
    if (i < 0 || !buffer.isDirect() || free[i].size() >= KEPT_PER_SIZE) return;
    buffer.clear();
    free[i].addLast(buffer);
  }

  /** Buffers kept for reuse now; for tests. */
  int kept() {
    int n = 0;
    for (ArrayDeque<ByteBuffer> f : free) n += f.size();
    return n;
  }

  private static int sizeClass(int size) {
    for (int i = 0; i < SIZES.length; i++) if (SIZES[i] == size) return i;
    return -1;
  }
}
