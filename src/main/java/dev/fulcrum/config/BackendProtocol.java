package dev.fulcrum.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * How Fulcrum speaks to one pool's backends ({@code fulcrum.pools.<pool>.protocol}): HTTP/1.1 (the default), HTTP/2
 * over the pool's TLS chosen by ALPN ({@code h2}), or HTTP/2 with prior knowledge on plain TCP ({@code h2c}). An
 * HTTP/2 backend connection carries at most {@code maxStreams} requests at once (fewer if the backend's
 * SETTINGS_MAX_CONCURRENT_STREAMS says so). Part of the pool's journaled definition, as its TLS is.
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
  public static final int MAX_STREAMS_LIMIT = 1_000_000;
  public static final BackendProtocol HTTP_1_1 = new BackendProtocol(Kind.HTTP_1_1, DEFAULT_MAX_STREAMS);

  public boolean http2() {
    return kind != Kind.HTTP_1_1;
  }

  /** What is wrong with this protocol for a pool with ({@code tls}) or without TLS to its backends, if anything. */
  public Optional<String> problem(boolean tls) {
    if (kind == null) return Optional.of("protocol is missing");
    if (maxStreams < 1 || maxStreams > MAX_STREAMS_LIMIT) {
      return Optional.of("max-concurrent-streams: " + maxStreams + " is outside 1-" + MAX_STREAMS_LIMIT);
    }
    return tlsMismatch(tls).map(problem -> "protocol: " + problem);
  }

  private Optional<String> tlsMismatch(boolean tls) {
    if (kind == Kind.H2 && !tls) {
      return Optional.of("h2 is HTTP/2 over TLS and the pool has no TLS to its backends; "
          + "for HTTP/2 on plain TCP (prior knowledge) use h2c");
    }
    if (kind == Kind.H2C && tls) {
      return Optional.of("h2c is HTTP/2 on plain TCP and the pool has TLS to its backends; use h2");
    }
    return Optional.empty();
  }

  /**
   * The pool's protocol ({@code protocol} and {@code max-concurrent-streams} of the pool's block; HTTP/1.1 when it
   * has neither). {@code tls}: whether the pool has TLS to its backends, which h2 needs and h2c excludes.
   */
  static BackendProtocol parse(ConfigReader pool, boolean tls) {
    if (!pool.has("protocol") && !pool.has("max-concurrent-streams")) return HTTP_1_1;
    BackendProtocol protocol = read(pool);
    Optional<String> mismatch = protocol.tlsMismatch(tls);
    if (mismatch.isPresent()) throw pool.error("protocol", mismatch.get());
    return protocol;
  }

  /**
   * The protocol given as JSON (the admin API's {@code "protocol"} field of a new pool, or the body of {@code PUT
   * /api/pools/{pool}/protocol}): {@code {"protocol": "h2c", "max-concurrent-streams": 50}}, the config's names and
   * checks but the one against the pool's TLS, which its entity makes against the TLS the pool has then.
   */
  public static BackendProtocol parseJson(String json) {
    Config body;
    try {
      body = RequestBody.parse(json, true);
    } catch (ConfigException e) {
      throw new SettingsException("protocol: not a JSON object: " + e.getMessage());
    }
    new ConfigReader(body, "").onlyKnown(body, java.util.Set.of("protocol", "max-concurrent-streams"), "a protocol");
    if (!body.hasPath("protocol")) throw new SettingsException("protocol: is missing (http/1.1, h2, h2c)");
    try {
      return read(new ConfigReader(body, ""));
    } catch (SettingsException e) {
      throw new SettingsException(e.getMessage().replaceAll(" \\(request body(: \\d+)?\\)$", ""));
    }
  }

  private static BackendProtocol read(ConfigReader pool) {
    String name = pool.has("protocol") ? pool.string("protocol") : Kind.HTTP_1_1.label;
    Kind kind = null;
    for (Kind k : Kind.values()) if (k.label.equals(name)) kind = k;
    if (kind == null) throw pool.error("protocol", "'" + name + "' is not a backend protocol (http/1.1, h2, h2c)");
    int streams = pool.has("max-concurrent-streams") ? pool.intIn("max-concurrent-streams", 1, MAX_STREAMS_LIMIT)
        : DEFAULT_MAX_STREAMS;
    return new BackendProtocol(kind, streams);
  }

  /** The protocol as the admin API shows it and takes it back: the config's names. */
  public Map<String, Object> render() {
    Map<String, Object> map = new LinkedHashMap<>();
    map.put("protocol", kind.label);
    map.put("max-concurrent-streams", maxStreams);
    return map;
  }
}
