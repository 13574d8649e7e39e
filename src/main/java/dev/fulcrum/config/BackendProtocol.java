package dev.fulcrum.config;

/**
 * How Fulcrum speaks to one pool's backends ({@code fulcrum.pools.<pool>.protocol}): HTTP/1.1 (the default), HTTP/2
 * over the pool's TLS chosen by ALPN ({@code h2}), or HTTP/2 with prior knowledge on plain TCP ({@code h2c}). An
 * HTTP/2 backend connection carries at most {@code maxStreams} requests at once (fewer if the backend's
 * SETTINGS_MAX_CONCURRENT_STREAMS says so). Node-local, as the pool's TLS is.
 */
public record BackendProtocol(Kind kind, int maxStreams) {
  public enum Kind {
    HTTP_1_1("http/1.1"), H2("h2"), H2C("h2c");

    public final String label;

    Kind(String label) {
      this.label = label;
    }
  }

  public static final int DEFAULT_MAX_STREAMS = 100;
  public static final BackendProtocol HTTP_1_1 = new BackendProtocol(Kind.HTTP_1_1, DEFAULT_MAX_STREAMS);

  public boolean http2() {
    return kind != Kind.HTTP_1_1;
  }

  /**
   * The pool's protocol, or null when it has none of its own (HTTP/1.1). {@code tls}: whether the pool has TLS to its
   * backends, which h2 needs and h2c excludes.
   */
  static BackendProtocol parse(ConfigReader pool, boolean tls) {
    if (!pool.has("protocol") && !pool.has("max-concurrent-streams")) return null;
    String name = pool.has("protocol") ? pool.string("protocol") : "http/1.1";
    Kind kind = null;
    for (Kind k : Kind.values()) if (k.label.equals(name)) kind = k;
    if (kind == null) throw pool.error("protocol", "'" + name + "' is not a backend protocol (http/1.1, h2, h2c)");
    if (kind == Kind.H2 && !tls) {
      throw pool.error("protocol", "h2 is HTTP/2 over TLS and this pool has no tls { enabled = on } to its backends; "
          + "for HTTP/2 on plain TCP (prior knowledge) use h2c");
    }
    if (kind == Kind.H2C && tls) {
      throw pool.error("protocol", "h2c is HTTP/2 on plain TCP and this pool has TLS to its backends; use h2");
    }
    int streams = pool.has("max-concurrent-streams") ? pool.intIn("max-concurrent-streams", 1, 1_000_000)
        : DEFAULT_MAX_STREAMS;
    return new BackendProtocol(kind, streams);
  }
}
