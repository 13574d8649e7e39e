package dev.fulcrum.http.h2;

import java.nio.ByteBuffer;

/**
 * One stream of a connection: its state, both windows, and the request body bytes received and not yet taken by the
 * engine, which the window Fulcrum granted bounds.
 */
final class H2Stream {
  final int id;
  StreamState state = StreamState.OPEN;
  /** What the peer may still send on this stream before a WINDOW_UPDATE. */
  int receiveWindow;
  /** Bytes taken by the engine and not yet given back in a WINDOW_UPDATE. */
  int unacknowledged;
  /** What Fulcrum may still send on this stream (may go negative when the peer shrinks the initial window). */
  long sendWindow;
  /** The engine has more to send than the windows allowed: tell it when they open. */
  boolean sendBlocked;
  long declaredLength = -1;
  long received;
  /** Body bytes in flush mode; null while none wait. */
  ByteBuffer body;
  /** The response is complete while the body still comes: its bytes are dropped as they arrive, their windows given back. */
  boolean discarding;

  H2Stream(int id, int receiveWindow, long sendWindow) {
    this.id = id;
    this.receiveWindow = receiveWindow;
    this.sendWindow = sendWindow;
  }

  void buffer(ByteBuffer data, int maxBuffered) {
    int n = data.remaining();
    if (n == 0) return;
    if (body == null) {
      body = ByteBuffer.allocate(Math.min(Math.max(n, 4096), maxBuffered)).flip();
    }
    if (body.capacity() - body.remaining() < n) {
      ByteBuffer bigger = ByteBuffer.allocate(Math.min(Math.max(body.remaining() + n, body.capacity() * 2),
          Math.max(maxBuffered, body.remaining() + n)));
      bigger.put(body).flip();
      body = bigger;
    } else if (body.capacity() - body.limit() < n) {
      body.compact().flip();
    }
    int end = body.limit();
    body.limit(end + n);
    body.put(end, data, data.position(), n);
    data.position(data.position() + n);
  }
}
