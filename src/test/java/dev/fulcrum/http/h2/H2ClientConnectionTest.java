package dev.fulcrum.http.h2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fulcrum.http.wire.HeaderFields;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.eclipse.jetty.http2.ErrorCode;
import org.junit.jupiter.api.Test;

/** The backend side's client connection against Fulcrum's own server connection, joined in memory, byte for byte. */
class H2ClientConnectionTest {
  private final List<String> clientEvents = new ArrayList<>();
  private final Map<Integer, StringBuilder> responseBodies = new HashMap<>();
  private H2ClientConnection client;
  private final Peer server = new Peer(new H2Settings(2, 65_535, 1 << 20, 16_384, 65_536, 1000, 200, 4 << 20));

  private final H2ClientConnection.Handler handler = new H2ClientConnection.Handler() {
    @Override
    public void response(int streamId, int status, HeaderFields headers, boolean endStream) {
      clientEvents.add("response " + streamId + " " + status + " " + headers.get("content-type") + " " + endStream);
    }

    @Override
    public void bodyArrived(int streamId) {
      ByteBuffer body = client.body(streamId);
      int n = body == null ? 0 : body.remaining();
      if (n > 0) {
        byte[] bytes = new byte[n];
        body.get(bytes);
        responseBodies.computeIfAbsent(streamId, k -> new StringBuilder()).append(new String(bytes, StandardCharsets.ISO_8859_1));
      }
      client.consumed(streamId, n);
    }

    @Override
    public void trailers(int streamId, HeaderFields trailers) {
      clientEvents.add("trailers " + streamId + " grpc-status=" + trailers.get("grpc-status"));
    }

    @Override
    public void reset(int streamId, int errorCode) {
      clientEvents.add("reset " + streamId + " " + errorCode);
    }

    @Override
    public void writable(int streamId) {
      clientEvents.add("writable " + streamId);
    }

    @Override
    public void goingAway(int lastStreamId) {
      clientEvents.add("goaway " + lastStreamId);
    }
  };

  /** Moves bytes both ways until neither side has any to send, one byte at a time when {@code trickle}. */
  private void pump(boolean trickle) {
    boolean moved = true;
    while (moved) {
      moved = false;
      ByteBuffer up = client.output();
      while (up.hasRemaining()) {
        moved = true;
        int n = trickle ? 1 : up.remaining();
        server.connection.feed(up.slice(up.position(), n));
        up.position(up.position() + n);
      }
      ByteBuffer down = server.connection.output();
      while (down.hasRemaining()) {
        moved = true;
        int n = trickle ? 1 : down.remaining();
        client.feed(down.slice(down.position(), n));
        down.position(down.position() + n);
      }
    }
  }

  private void grpcCall(boolean trickle) {
    client = new H2ClientConnection(H2Settings.DEFAULTS, handler, () -> 0L);
    HeaderFields headers = new HeaderFields();
    headers.add("Content-Type", "application/grpc");
    headers.add("TE", "trailers");
    headers.add("Connection", "keep-alive"); // dropped: connection-specific
    int id = client.open("POST", "http", "backend:50051", "/grpc.testing.TestService/UnaryCall", headers, false);
    assertEquals(1, id);
    client.data(id, ByteBuffer.wrap("request-message".getBytes(StandardCharsets.US_ASCII)), true);
    pump(trickle);
    assertEquals(1, server.requests.size(), server.violations + " " + server.connection.closeReason() + " " + server.frames);
    H2Request request = server.requests.get(0);
    assertEquals("/grpc.testing.TestService/UnaryCall", request.path());
    assertEquals("backend:50051", request.authority());
    assertEquals("trailers", request.headers().get("te"));
    assertEquals("request-message", server.bodies.get(1).toString());
    HeaderFields response = new HeaderFields();
    response.add("content-type", "application/grpc");
    server.connection.respond(1, 200, response, false);
    server.connection.data(1, ByteBuffer.wrap("response-message".getBytes(StandardCharsets.US_ASCII)), false);
    HeaderFields trailers = new HeaderFields();
    trailers.add("grpc-status", "0");
    server.connection.trailers(1, trailers);
    pump(trickle);
    assertEquals(List.of("response 1 200 application/grpc false", "trailers 1 grpc-status=0"), clientEvents);
    assertEquals("response-message", responseBodies.get(1).toString());
    assertEquals(0, client.activeStreams());
    assertTrue(server.violations.isEmpty(), server.violations.toString());
  }

  @Test
  void aGrpcCallGoesBothWaysWithTrailers() {
    grpcCall(false);
  }

  @Test
  void aGrpcCallGoesBothWaysFedByteByByte() {
    grpcCall(true);
  }

  @Test
  void theBackendsStreamLimitIsHonouredAndResetsPassBothWays() {
    client = new H2ClientConnection(H2Settings.DEFAULTS, handler, () -> 0L);
    pump(false); // the server's SETTINGS (max 2 streams) arrive
    assertTrue(client.canOpen());
    int a = client.open("GET", "http", "b", "/a", new HeaderFields(), false);
    int b = client.open("GET", "http", "b", "/b", new HeaderFields(), false);
    assertFalse(client.canOpen(), "the backend allows 2 streams at once");
    assertEquals(-1, client.open("GET", "http", "b", "/c", new HeaderFields(), true));
    pump(false);
    // a cancelled call: the backend hears RST_STREAM CANCEL, and a stream is free again
    client.reset(a, ErrorCode.CANCEL_STREAM_ERROR);
    pump(false);
    assertTrue(server.events.contains("reset " + a + " " + ErrorCode.CANCEL_STREAM_ERROR.code), server.events.toString());
    assertTrue(client.canOpen());
    // the backend resets the other: the client side hears it
    server.connection.reset(b, ErrorCode.INTERNAL_ERROR);
    pump(false);
    assertTrue(clientEvents.contains("reset " + b + " " + ErrorCode.INTERNAL_ERROR.code), clientEvents.toString());
    // a graceful GOAWAY: no new streams on this connection
    server.connection.goAway();
    pump(false);
    assertFalse(client.canOpen());
    assertTrue(client.goingAway());
  }

  @Test
  void aBackendSettingThatPushesAStreamWindowPast2To31IsAFlowControlError() {
    // RFC 9113 §6.9.2: a SETTINGS_INITIAL_WINDOW_SIZE that makes an open stream's window exceed 2^31-1 is a connection
    // error FLOW_CONTROL_ERROR, on the backend side as on the client side
    client = new H2ClientConnection(H2Settings.DEFAULTS, handler, () -> 0L);
    pump(false);
    int id = client.open("POST", "http", "b", "/upload", new HeaderFields(), false);
    pump(false);
    client.feed(ByteBuffer.wrap(new RawFrames().windowUpdate(id, Integer.MAX_VALUE - 65_535).bytes()));
    assertFalse(client.closed(), client.closeReason());
    client.feed(ByteBuffer.wrap(new RawFrames().settings(0x4, 65_536).bytes()));
    assertTrue(client.closed());
    assertTrue(client.closeReason().contains("FLOW_CONTROL"), client.closeReason());
    assertTrue(client.closeReason().contains("past 2^31-1"), client.closeReason());
  }

  @Test
  void aLargeResponseFlowsAsTheEngineTakesIt() {
    client = new H2ClientConnection(H2Settings.DEFAULTS, handler, () -> 0L);
    int id = client.open("GET", "http", "b", "/big", new HeaderFields(), true);
    pump(false);
    server.connection.respond(id, 200, new HeaderFields(), false);
    ByteBuffer big = ByteBuffer.allocate(1 << 20);
    int guard = 0;
    while (big.hasRemaining() && guard++ < 1000) {
      server.connection.data(id, big, true);
      pump(false);
    }
    assertEquals(1 << 20, responseBodies.get(id).length());
    assertEquals(0, client.activeStreams());
  }

  @Test
  void whatTheClientWritesIsTakenWholeSplitAtEveryPosition() {
    // Jetty's encoder output (Huffman, a table size update) and a SETTINGS frame with settings in it, split anywhere
    client = new H2ClientConnection(H2Settings.DEFAULTS, handler, () -> 0L);
    HeaderFields headers = new HeaderFields();
    headers.add("content-type", "application/grpc");
    client.open("POST", "http", "backend:50051", "/svc/M", headers, false);
    ByteBuffer out = client.output();
    byte[] all = new byte[out.remaining()];
    out.get(all);
    for (int split = 1; split < all.length; split++) {
      Peer peer = new Peer();
      peer.connection.feed(ByteBuffer.wrap(all, 0, split));
      peer.connection.feed(ByteBuffer.wrap(all, split, all.length - split));
      assertEquals(1, peer.requests.size(), "split at " + split);
      assertEquals("/svc/M", peer.requests.get(0).path());
    }
  }
}
