package dev.fulcrum.http.h2;

/**
 * The limits of one side of an HTTP/2 connection, as advertised to the peer and enforced on it. Windows bound what
 * the peer may make Fulcrum buffer: a stream's request body holds at most {@code streamWindow} bytes, a connection's
 * at most {@code connectionWindow}. The rates bound frames that cost work but carry no request (RFC 9113 §10.5).
 */
public record H2Settings(
    int maxConcurrentStreams,
    int streamWindow,
    int connectionWindow,
    int maxFrameSize,
    int maxHeaderListSize,
    int maxControlFramesPerSecond,
    int maxResetsPerSecond,
    int maxOutputBytes) {

  /** The protocol's own initial window (RFC 9113 §6.9.2): windows start there until SETTINGS say otherwise. */
  public static final int DEFAULT_WINDOW = 65_535;
  public static final int MAX_WINDOW = Integer.MAX_VALUE;

  /** As nginx's {@code http2_max_concurrent_streams 128} and HAProxy's 100; windows as HAProxy's defaults. */
  public static final H2Settings DEFAULTS =
      new H2Settings(100, 65_535, 1 << 20, 16_384, 65_536, 1_000, 200, 4 << 20);

  public H2Settings {
    if (maxConcurrentStreams < 1) throw new IllegalArgumentException("max-concurrent-streams must be at least 1");
    if (streamWindow < 1) throw new IllegalArgumentException("stream-window must be at least 1");
    if (connectionWindow < DEFAULT_WINDOW) {
      throw new IllegalArgumentException("connection-window must be at least " + DEFAULT_WINDOW);
    }
    if (maxFrameSize < 16_384 || maxFrameSize > 16_777_215) {
      throw new IllegalArgumentException("max-frame-size must be within 16384 and 16777215");
    }
    if (maxHeaderListSize < 1024) throw new IllegalArgumentException("max-header-list-size must be at least 1024");
    if (maxControlFramesPerSecond < 10 || maxResetsPerSecond < 1) {
      throw new IllegalArgumentException("frame rates must be at least 10 and 1 per second");
    }
    if (maxOutputBytes < 65_536) throw new IllegalArgumentException("max-output must be at least 64 KiB");
  }
}
