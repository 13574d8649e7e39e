package dev.fulcrum.tls;

import dev.fulcrum.config.BackendTlsSettings;
import dev.fulcrum.nio.Transport;
import java.io.IOException;
import java.nio.channels.SocketChannel;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManagerFactory;
import tlschannel.ClientTlsChannel;

/**
 * TLS from Fulcrum to one pool's backends, for every engine and for health checks: the backend's chain is verified
 * against the pool's CA file or the system trust store, its name (the pool's server-name, else the backend's host)
 * checked as HTTPS clients check it and sent as SNI; a client certificate when the pool has one. One per settings,
 * loaded once.
 */
public final class BackendTls {
  private static final ConcurrentHashMap<BackendTlsSettings, BackendTls> LOADED = new ConcurrentHashMap<>();
  /**
   * Each pool's settings, from the node's config at start-up (node-local, as certificate files are). Process-wide: the
   * nodes of one JVM (tests) share it, the last started wins for a pool they both name.
   */
  private static final ConcurrentHashMap<String, BackendTlsSettings> POOLS = new ConcurrentHashMap<>();

  /** The pools' TLS to their backends, from the config; loads each (a file that cannot be used throws, naming it). */
  public static void configure(java.util.Map<String, BackendTlsSettings> pools) throws TlsException {
    for (BackendTlsSettings settings : pools.values()) of(settings);
    POOLS.putAll(pools);
  }

  /** The pool's TLS to its backends, or null: plain connections (also every pool created at runtime). */
  public static BackendTls forPool(String pool) {
    BackendTlsSettings settings = POOLS.get(pool);
    return settings == null ? null : orNull(Optional.of(settings));
  }

  private final BackendTlsSettings settings;
  private final SSLContext context;
  private final String[] protocols;

  private BackendTls(BackendTlsSettings settings, SSLContext context) {
    this.settings = settings;
    this.context = context;
    this.protocols = settings.protocols().toArray(String[]::new);
  }

  /** The pool's backend TLS, loaded on first use; a file that cannot be used is a {@link TlsException} naming it. */
  public static BackendTls of(BackendTlsSettings settings) throws TlsException {
    BackendTls loaded = LOADED.get(settings);
    if (loaded != null) return loaded;
    loaded = load(settings);
    BackendTls raced = LOADED.putIfAbsent(settings, loaded);
    return raced != null ? raced : loaded;
  }

  /** As {@link #of}, for settings checked at start-up already ({@code Fulcrum} loads every pool's first). */
  public static BackendTls orNull(Optional<BackendTlsSettings> settings) {
    if (settings.isEmpty()) return null;
    try {
      return of(settings.get());
    } catch (TlsException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }

  private static BackendTls load(BackendTlsSettings settings) throws TlsException {
    try {
      TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      if (settings.caFile().isPresent()) {
        KeyStore cas = KeyStore.getInstance("PKCS12");
        cas.load(null, null);
        int i = 0;
        for (X509Certificate ca : PemFiles.certificates(settings.caFile().get())) cas.setCertificateEntry("ca-" + i++, ca);
        trust.init(cas);
      } else {
        trust.init((KeyStore) null); // the JDK's cacerts: the system trust store
      }
      KeyManagerFactory keys = null;
      if (settings.certFile().isPresent()) {
        List<X509Certificate> chain = PemFiles.certificates(settings.certFile().get());
        PrivateKey key = PemFiles.privateKey(settings.keyFile().orElseThrow());
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        store.setKeyEntry("client", key, new char[0], chain.toArray(X509Certificate[]::new));
        keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        keys.init(store, new char[0]);
      }
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(keys == null ? null : keys.getKeyManagers(), trust.getTrustManagers(), null);
      return new BackendTls(settings, context);
    } catch (GeneralSecurityException | IOException e) {
      throw new TlsException(settings.configPath() + ": TLS to the backends cannot be set up: " + e.getMessage());
    }
  }

  /** A client engine for one connection to {@code host:port}. */
  public SSLEngine newEngine(String host, int port) {
    String name = settings.serverName().orElse(host);
    SSLEngine engine = context.createSSLEngine(name, port);
    engine.setUseClientMode(true);
    SSLParameters parameters = engine.getSSLParameters();
    parameters.setProtocols(protocols);
    if (settings.verifyHostname()) parameters.setEndpointIdentificationAlgorithm("HTTPS");
    // SNI carries host names only (RFC 6066): a backend given by address gets none, as with curl
    if (!isAddress(name)) parameters.setServerNames(List.of(new SNIHostName(name)));
    engine.setSSLParameters(parameters);
    return engine;
  }

  /** A TLS client transport over a connected socket of the nio engine; its handshake is driven by the caller. */
  public Transport clientTransport(SocketChannel channel, String host, int port) {
    return Transport.tls(ClientTlsChannel.newBuilder(channel, newEngine(host, port)).build(), channel);
  }

  /** As {@link #clientTransport}, offering only {@code alpn} (e.g. {@code h2}) by ALPN. */
  public Transport clientTransport(SocketChannel channel, String host, int port, String alpn) {
    SSLEngine engine = newEngine(host, port);
    SSLParameters parameters = engine.getSSLParameters();
    parameters.setApplicationProtocols(new String[] {alpn});
    engine.setSSLParameters(parameters);
    return Transport.tls(ClientTlsChannel.newBuilder(channel, engine).build(), channel);
  }

  public SSLContext sslContext() {
    return context;
  }

  public BackendTlsSettings settings() {
    return settings;
  }

  private static boolean isAddress(String name) {
    return name.indexOf(':') >= 0 || name.chars().allMatch(c -> c == '.' || (c >= '0' && c <= '9'));
  }
}
