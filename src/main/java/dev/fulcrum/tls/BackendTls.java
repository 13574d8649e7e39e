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
import java.nio.file.Path;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManagerFactory;

/**
 * TLS from Fulcrum to one pool's backends, for every engine and for health checks: the backend's chain is verified
 * against the pool's CA file or the system trust store, its name (the pool's server-name, else the backend's host)
 * checked as HTTPS clients check it and sent as SNI; a client certificate when the pool has one. One per settings,
 * loaded once. A pool's settings are part of its definition (journaled, replicated): each node loads them from its
 * own files when its router learns them.
 */
public final class BackendTls {
  private static final ConcurrentHashMap<BackendTlsSettings, BackendTls> LOADED = new ConcurrentHashMap<>();

  private final BackendTlsSettings settings;
  private final SSLContext context;
  private final String[] protocols;

  private BackendTls(BackendTlsSettings settings, SSLContext context) {
    this.settings = settings;
    this.context = context;
    this.protocols = settings.protocols().toArray(String[]::new);
  }

  /**
   * The pool's backend TLS, loaded on first use; a file that cannot be used is a {@link TlsException} whose message
   * begins with the field's name ({@code ca-file: ...}): callers put the block's path before it.
   */
  public static BackendTls of(BackendTlsSettings settings) throws TlsException {
    BackendTls loaded = LOADED.get(settings);
    if (loaded != null) return loaded;
    loaded = load(settings);
    BackendTls raced = LOADED.putIfAbsent(settings, loaded);
    return raced != null ? raced : loaded;
  }

  /** The settings' TLS if loaded already, else null: never reads a file (for actors, which must not block). */
  public static BackendTls loaded(BackendTlsSettings settings) {
    return LOADED.get(settings);
  }

  private static BackendTls load(BackendTlsSettings settings) throws TlsException {
    KeyStore cas = null;
    if (settings.caFile().isPresent()) {
      List<X509Certificate> list = field("ca-file", () -> PemFiles.certificates(Path.of(settings.caFile().get())));
      cas = field("ca-file", () -> {
        KeyStore store = emptyStore();
        int i = 0;
        for (X509Certificate ca : list) store.setCertificateEntry("ca-" + i++, ca);
        return store;
      });
    }
    KeyStore client = null;
    if (settings.certFile().isPresent()) {
      List<X509Certificate> chain = field("cert-file", () -> PemFiles.certificates(Path.of(settings.certFile().get())));
      PrivateKey key = field("key-file", () -> PemFiles.privateKey(Path.of(settings.keyFile().orElseThrow())));
      client = field("key-file", () -> {
        KeyStore store = emptyStore();
        store.setKeyEntry("client", key, new char[0], chain.toArray(X509Certificate[]::new));
        return store;
      });
    }
    try {
      TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      trust.init(cas); // null: the JDK's cacerts, the system trust store
      KeyManagerFactory keys = null;
      if (client != null) {
        keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        keys.init(client, new char[0]);
      }
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(keys == null ? null : keys.getKeyManagers(), trust.getTrustManagers(), null);
      return new BackendTls(settings, context);
    } catch (GeneralSecurityException e) {
      throw new TlsException("TLS to the backends cannot be set up: " + e.getMessage());
    }
  }

  private interface Loading<T> {
    T load() throws TlsException, GeneralSecurityException, IOException;
  }

  /** Runs one step of loading, naming the field whose file it reads in any error. */
  private static <T> T field(String name, Loading<T> step) throws TlsException {
    try {
      return step.load();
    } catch (TlsException e) {
      throw new TlsException(name + ": " + e.getMessage());
    } catch (GeneralSecurityException | IOException e) {
      throw new TlsException(name + ": cannot be used: " + e.getMessage());
    }
  }

  private static KeyStore emptyStore() throws GeneralSecurityException, IOException {
    KeyStore store = KeyStore.getInstance("PKCS12");
    store.load(null, null);
    return store;
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
    return Transport.tlsClient(channel, newEngine(host, port));
  }

  /** As {@link #clientTransport}, offering only {@code alpn} (e.g. {@code h2}) by ALPN. */
  public Transport clientTransport(SocketChannel channel, String host, int port, String alpn) {
    SSLEngine engine = newEngine(host, port);
    SSLParameters parameters = engine.getSSLParameters();
    parameters.setApplicationProtocols(new String[] {alpn});
    engine.setSSLParameters(parameters);
    return Transport.tlsClient(channel, engine);
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
