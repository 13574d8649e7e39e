package dev.fulcrum.backend;

import dev.fulcrum.config.HealthCheckSettings;
import dev.fulcrum.http.h2.H2ClientConnection;
import dev.fulcrum.http.h2.H2Settings;
import dev.fulcrum.http.wire.HeaderFields;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * The HTTP/2 side of a gRPC health check, without a socket: one stream on an {@link H2ClientConnection} carrying
 * {@code grpc.health.v1.Health/Check}, judged once the call ends (its trailers, or a trailers-only answer). SERVING
 * passes; any other serving status, a {@code grpc-status} other than OK (NOT_FOUND for a service the server does not
 * know), a reset or a broken connection fails. Confined to the check's event loop.
 */
final class GrpcProbe implements H2ClientConnection.Handler {
  /** Small windows: a health answer is a few bytes, and a check should not let a backend make it buffer more. */
  private static final H2Settings LIMITS = new H2Settings(1, 16_384, 65_535, 16_384, 16_384, 100, 10, 65_536);

  private final H2ClientConnection h2;
  private final Consumer<HealthProbes.Outcome> verdict;
  private final byte[] body = new byte[GrpcHealthMessages.MAX_RESPONSE];
  private final int stream;
  private int received;
  private boolean decided;

  /**
   * Opens the call at once (its bytes wait in {@link #output}); {@code message} is
   * {@link GrpcHealthMessages#request}'s.
   */
  GrpcProbe(HealthCheckSettings check, String scheme, String authority, byte[] message, long timeoutNanos,
      LongSupplier clock, Consumer<HealthProbes.Outcome> verdict) {
    this.verdict = verdict;
    this.h2 = new H2ClientConnection(LIMITS, this, clock);
    HeaderFields headers = new HeaderFields(4 + check.headers().size());
    headers.add("content-type", "application/grpc");
    headers.add("te", "trailers");
    headers.add("user-agent", "fulcrum-health-check");
    // the server may give up on its own when Fulcrum will have stopped waiting
    headers.add("grpc-timeout", Math.max(1, timeoutNanos / 1_000_000) + "m");
    for (Map.Entry<String, String> field : check.headers().entrySet()) headers.add(field.getKey(), field.getValue());
    stream = h2.open("POST", scheme, check.host().orElse(authority), GrpcHealthMessages.PATH, headers, false);
    h2.data(stream, ByteBuffer.wrap(message), true);
  }

  ByteBuffer output() {
    return h2.output();
  }

  /** Bytes from the backend; the verdict may follow at once. */
  void feed(ByteBuffer in) {
    h2.feed(in);
    if (!decided && h2.closed()) fail("the backend broke the HTTP/2 connection: " + h2.closeReason());
  }

  /** The backend closed the connection before the call ended. */
  void closed() {
    fail("the backend closed the connection before the call ended");
  }

  @Override
  public void response(int streamId, int status, HeaderFields headers, boolean endStream) {
    if (status != 200) {
      fail("answered HTTP " + status + ", not a gRPC response");
      return;
    }
    if (endStream) judge(headers); // trailers-only: the status is in the head
  }

  @Override
  public void bodyArrived(int streamId) {
    ByteBuffer bytes = h2.body(streamId);
    if (bytes == null) return;
    int n = bytes.remaining();
    if (received + n > body.length) {
      fail("answered more than " + body.length + " bytes, not a health response");
      return;
    }
    bytes.get(body, received, n);
    received += n;
    h2.consumed(streamId, n);
  }

  @Override
  public void trailers(int streamId, HeaderFields trailers) {
    judge(trailers);
  }

  @Override
  public void reset(int streamId, int errorCode) {
    fail("the backend reset the call (HTTP/2 error " + errorCode + ")");
  }

  @Override
  public void writable(int streamId) {
    // the request is a few bytes, within any initial window
  }

  private void judge(HeaderFields trailers) {
    String code = trailers.get("grpc-status");
    if (code == null) {
      fail("the call ended without a grpc-status");
      return;
    }
    if (!code.equals("0")) {
      String message = trailers.get("grpc-message");
      fail("grpc-status " + code + (message == null || message.isEmpty() ? "" : " (" + abbreviate(message) + ")"));
      return;
    }
    int status = GrpcHealthMessages.status(body, received);
    if (status == GrpcHealthMessages.SERVING) decide(new HealthProbes.Passed());
    else if (status == GrpcHealthMessages.COMPRESSED) fail("answered a compressed message, which the check did not ask for");
    else if (status == GrpcHealthMessages.MALFORMED) fail("answered a malformed HealthCheckResponse");
    else fail("the service is " + GrpcHealthMessages.statusName(status));
  }

  private void fail(String reason) {
    decide(new HealthProbes.Failed("gRPC health check: " + reason));
  }

  private void decide(HealthProbes.Outcome outcome) {
    if (decided) return;
    decided = true;
    verdict.accept(outcome);
  }

  private static String abbreviate(String text) {
    return text.length() <= 80 ? text : text.substring(0, 80) + "...";
  }
}
