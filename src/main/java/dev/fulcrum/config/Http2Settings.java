package dev.fulcrum.config;

/**
 * HTTP/2 on a listener's client side: offered by ALPN next to http/1.1 on a TLS listener ({@code enabled}), and taken
 * with prior knowledge on a plain one ({@code cleartext}; never by an Upgrade header, which stays stripped). The rest
 * bound what one client connection may cost: streams at once, the request body bytes Fulcrum buffers per stream and
 * per connection (the flow-control windows it grants), the decoded header list, and the rates of frames that carry
 * no request (RFC 9113 §10.5: SETTINGS, PING, PRIORITY, empty frames, CONTINUATION) and of streams reset by the client.
 */
public record Http2Settings(
    boolean enabled,
    boolean cleartext,
    int maxConcurrentStreams,
    int streamWindow,
    int connectionWindow,
    int maxHeaderListSize,
    int maxControlFramesPerSecond,
    int maxResetsPerSecond) {

  public static final Http2Settings OFF = new Http2Settings(false, false, 100, 65_535, 1 << 20, 65_536, 1000, 200);

  /** Whether the listener speaks HTTP/2 at all. */
  public boolean any() {
    return enabled || cleartext;
  }
}
