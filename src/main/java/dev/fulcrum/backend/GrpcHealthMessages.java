package dev.fulcrum.backend;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * The two messages of {@code grpc.health.v1.Health/Check} in their gRPC framing, written and read by hand.
 *
 * <p>Why by hand: the main classpath has no protobuf runtime (grpc-java and protobuf-java are test-scoped; Pekko's copy
 * is shaded and internal), and both messages are a single field each: {@code HealthCheckRequest { string service = 1; }}
 * and {@code HealthCheckResponse { ServingStatus status = 1; }}. Pulling protobuf-java and generated classes into the
 * fat jar for a few bytes of wire format would cost more than these forty lines; the tests check them against
 * grpc-java's own health service.
 */
public final class GrpcHealthMessages {
  public static final String PATH = "/grpc.health.v1.Health/Check";
  /** HealthCheckResponse.ServingStatus.SERVING. */
  public static final int SERVING = 1;
  /** A response is a handful of bytes; anything longer is not a health service answering. */
  static final int MAX_RESPONSE = 4096;

  private GrpcHealthMessages() {}

  /** A HealthCheckRequest for {@code service} as one gRPC length-prefixed message (uncompressed). */
  public static byte[] request(String service) {
    byte[] name = service.getBytes(StandardCharsets.UTF_8);
    ByteArrayOutputStream message = new ByteArrayOutputStream(name.length + 8);
    if (name.length > 0) { // proto3 leaves a default (empty) string out
      message.write(0x0A); // field 1, wire type 2 (length-delimited)
      varint(message, name.length);
      message.writeBytes(name);
    }
    return framed(message.toByteArray());
  }

  private static byte[] framed(byte[] message) {
    byte[] frame = new byte[5 + message.length];
    int n = message.length;
    frame[1] = (byte) (n >>> 24);
    frame[2] = (byte) (n >>> 16);
    frame[3] = (byte) (n >>> 8);
    frame[4] = (byte) n;
    System.arraycopy(message, 0, frame, 5, n);
    return frame;
  }

  private static void varint(ByteArrayOutputStream out, long value) {
    while ((value & ~0x7FL) != 0) {
      out.write((int) ((value & 0x7F) | 0x80));
      value >>>= 7;
    }
    out.write((int) value);
  }

  /**
   * The serving status in a response body ({@code bytes[0..length)}: one length-prefixed message), or a negative
   * number saying what is wrong with it: {@link #MALFORMED}, {@link #COMPRESSED}.
   */
  public static int status(byte[] bytes, int length) {
    if (length < 5) return MALFORMED;
    if (bytes[0] != 0) return bytes[0] == 1 ? COMPRESSED : MALFORMED;
    long n = ((bytes[1] & 0xFFL) << 24) | ((bytes[2] & 0xFF) << 16) | ((bytes[3] & 0xFF) << 8) | (bytes[4] & 0xFF);
    if (n != length - 5) return MALFORMED;
    int status = 0; // proto3's default: UNKNOWN, left out on the wire
    int[] at = {5};
    while (at[0] < length) {
      long tag = readVarint(bytes, length, at);
      if (tag < 0) return MALFORMED;
      int field = (int) (tag >>> 3);
      switch ((int) (tag & 7)) {
        case 0 -> {
          long value = readVarint(bytes, length, at);
          if (value < 0) return MALFORMED;
          if (field == 1) status = (int) Math.min(value, Integer.MAX_VALUE);
        }
        case 1 -> at[0] += 8;
        case 5 -> at[0] += 4;
        case 2 -> {
          long size = readVarint(bytes, length, at);
          if (size < 0 || size > length) return MALFORMED;
          at[0] += (int) size;
        }
        default -> {
          return MALFORMED;
        }
      }
      if (at[0] > length) return MALFORMED;
    }
    return status;
  }

  public static final int MALFORMED = -1;
  public static final int COMPRESSED = -2;

  /** The varint at {@code at[0]}, moving it on; -1 if it runs past the end or past 64 bits. */
  private static long readVarint(byte[] bytes, int length, int[] at) {
    long value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (at[0] >= length) return -1;
      byte b = bytes[at[0]++];
      value |= (long) (b & 0x7F) << shift;
      if (b >= 0) return value;
    }
    return -1;
  }

  /** The names of HealthCheckResponse.ServingStatus, for the reason of a failed check. */
  public static String statusName(int status) {
    return switch (status) {
      case 0 -> "UNKNOWN";
      case 1 -> "SERVING";
      case 2 -> "NOT_SERVING";
      case 3 -> "SERVICE_UNKNOWN";
      default -> "status " + status;
    };
  }
}
