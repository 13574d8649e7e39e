package dev.fulcrum.nio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Queue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A pipe whose output is TLS: TLS may take the last plaintext of a transfer and keep its encrypted record because the
 * socket is full. The pipe must still want to write (so its connection keeps asking for the socket's writability) and
 * send the record once it can, and pass the end on only after it. Socket-less: the transports are scripted.
 */
class PipeTest {
  private final EventLoop loop = new EventLoop("pipe-test", 1024);

  @AfterEach
  void stop() {
    loop.stop();
  }

  /** A transport that a test scripts one side of: the other side is not used. */
  private abstract static class Scripted extends Transport {
    @Override
    public int read(ByteBuffer into) {
      throw new UnsupportedOperationException();
    }

    @Override
    public long write(ByteBuffer[] from) {
      throw new UnsupportedOperationException();
    }

    @Override
    public int write(ByteBuffer from) {
      throw new UnsupportedOperationException();
    }

    @Override
    public void shutdownOutput() {}

    @Override
    public void close() {}
  }

  /** Gives the scripted chunks, then nothing (0), or the end (-1) once {@link #end} was called. */
  private static final class Source extends Scripted {
    final Queue<byte[]> chunks = new ArrayDeque<>();
    boolean ended;

    void end() {
      ended = true;
    }

    @Override
    public int read(ByteBuffer into) {
      byte[] next = chunks.poll();
      if (next == null) return ended ? -1 : 0;
      into.put(next);
      return next.length;
    }
  }

  /** TLS over a socket that is full until {@link #socketRoom} is set: it takes plaintext, and holds the record. */
  private static final class TlsSink extends Scripted {
    final ByteArrayOutputStream sent = new ByteArrayOutputStream();
    final ByteArrayOutputStream held = new ByteArrayOutputStream();
    boolean socketRoom;
    boolean shut;

    @Override
    public int write(ByteBuffer from) {
      int n = from.remaining();
      byte[] bytes = new byte[n];
      from.get(bytes);
      held.writeBytes(bytes);
      if (socketRoom) {
        sent.writeBytes(held.toByteArray());
        held.reset();
      }
      return n;
    }

    @Override
    public boolean writePending() {
      return held.size() > 0;
    }

    @Override
    public void shutdownOutput() {
      shut = true;
    }
  }

  @Test
  void theLastRecordTlsHoldsIsSentOnceTheSocketHasRoomAndTheEndGoesAfterIt() throws Exception {
    Source from = new Source();
    TlsSink to = new TlsSink();
    Pipe pipe = new Pipe(loop, from, to);

    from.chunks.add("the end of a transfer".getBytes(StandardCharsets.UTF_8));
    assertTrue(pipe.read(), "the bytes were taken by TLS");
    assertEquals(0, to.sent.size(), "the socket was full");
    assertTrue(pipe.wantsWrite(), "the held record still waits for the socket");

    from.end();
    pipe.read();
    assertFalse(to.shut, "the end must not go out before the held record");
    assertFalse(pipe.finished());

    to.socketRoom = true;
    pipe.write();
    assertEquals("the end of a transfer", to.sent.toString(StandardCharsets.UTF_8));
    assertFalse(pipe.wantsWrite());
    assertTrue(to.shut, "then the end");
    assertTrue(pipe.finished());
  }

  @Test
  void plainOutputThatTakesEverythingWantsNoWrite() throws Exception {
    Source from = new Source();
    TlsSink to = new TlsSink();
    to.socketRoom = true;
    Pipe pipe = new Pipe(loop, from, to);
    from.chunks.add(new byte[] {1, 2, 3});
    assertTrue(pipe.read());
    assertFalse(pipe.wantsWrite());
    assertEquals(3, pipe.bytes());
  }
}
