package dev.fulcrum.http.h2;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import org.eclipse.jetty.http2.frames.DataFrame;
import org.eclipse.jetty.http2.frames.Frame;
import org.eclipse.jetty.http2.generator.Generator;
import org.eclipse.jetty.http2.hpack.HpackException;
import org.eclipse.jetty.io.ByteBufferPool;
import org.eclipse.jetty.io.RetainableByteBuffer;

/**
 * The bytes one HTTP/2 connection has to send, and the buffers its frames are made in. Jetty's generator writes each
 * frame into an accumulator that takes buffers from a pool, and HPACK encodes each header block into one more: with
 * Jetty's non-pooling pool every frame allocated and zeroed 8 KB, and every HEADERS frame 4 KB more (a tenth of the
 * event loop's time under h2load). Here they come back to a free list of the connection's own once the frame's bytes
 * are copied to the output, so a connection reuses the same few buffers.
 *
 * <p>Not thread-safe: one event loop owns the connection.
 */
final class FrameOutput {
  /** Buffers kept for reuse: a frame takes two at most (the accumulator's and HPACK's; a DATA frame's payload is its own). */
  private static final int KEPT = 4;
  /** Larger ones (a header block for a peer that allows huge header lists) are left to the garbage collector. */
  private static final int MAX_KEPT_CAPACITY = 64 * 1024;

  private final ArrayDeque<ByteBuffer> free = new ArrayDeque<>(KEPT);
  private final ByteBufferPool pool = new ByteBufferPool() {
    @Override
    public RetainableByteBuffer.Mutable acquire(int size, boolean direct) {
      ByteBuffer buffer = free.pollLast();
      if (buffer == null || buffer.capacity() < size) buffer = ByteBuffer.allocate(size);
      ByteBuffer taken = buffer.clear().flip(); // empty, in flush mode, as Jetty's pools hand them out
      return RetainableByteBuffer.wrap(taken, () -> recycle(taken));
    }

    @Override
    public void clear() {
      free.clear();
    }
  };
  private final RetainableByteBuffer.DynamicCapacity staging = new RetainableByteBuffer.DynamicCapacity(pool, false, -1);
  /** Flush mode: the bytes for the peer, from position to limit. */
  private ByteBuffer out = ByteBuffer.allocate(16_384).flip();

  /** The pool for the connection's frame generator. */
  ByteBufferPool pool() {
    return pool;
  }

  /** The bytes to send, in flush mode; the caller advances the position by what it wrote. */
  ByteBuffer bytes() {
    return out;
  }

  /** Appends a frame other than DATA; HPACK's failure to encode a header block is a bug of Fulcrum's, not the peer's. */
  void control(Generator generator, Frame frame) {
    try {
      generator.control(staging, frame);
    } catch (HpackException e) {
      staging.clear();
      throw new IllegalStateException("an HTTP/2 frame could not be encoded: " + e.getMessage(), e);
    }
    append();
  }

  /** Appends a DATA frame of {@code n} bytes. */
  void data(Generator generator, DataFrame frame, int n) {
    generator.data(staging, frame, n);
    append();
  }

  /** Moves the staged frame bytes to the output; the staging buffers go back to the free list. */
  private void append() {
    int n = staging.remaining();
    if (out.capacity() - out.remaining() < n) {
      ByteBuffer bigger = ByteBuffer.allocate(Math.max(out.capacity() * 2, out.remaining() + n));
      bigger.put(out).flip();
      out = bigger;
    } else if (out.capacity() - out.limit() < n) {
      out.compact().flip();
    }
    staging.appendTo(out);
    staging.clear();
  }

  private void recycle(ByteBuffer buffer) {
    if (buffer.capacity() <= MAX_KEPT_CAPACITY && free.size() < KEPT) free.addLast(buffer);
  }
}
