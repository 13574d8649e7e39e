package dev.fulcrum.tls;

import dev.fulcrum.config.TlsSettings;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.Key;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManagerFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A listener's TLS: an {@code SSLEngine} (JSSE's, or Conscrypt's as {@code tls.provider} says) with the listener's certificates (chosen by SNI), TLS 1.2 and 1.3 only,
 * modern TLS 1.2 cipher suites (ECDHE with AES-GCM or ChaCha20) unless configured, ALPN {@code http/1.1}, optional
 * client certificates. {@link #reload} re-reads the certificate files; a file that cannot be used keeps the
 * certificates in use and says why.
 */
public final class TlsContext {
  private static final Logger log = LoggerFactory.getLogger(TlsContext.class);
  private static final AtomicLong GENERATIONS = new AtomicLong();

  private final String listener;
  private final TlsSettings settings;
  private final SniKeyManager keys;
  private final SSLContext context;
  private final String[] protocols;
  private final String[] ciphers;
  private volatile List<Long> stamps;
  /** Whether ALPN offers h2 before http/1.1 (the listener serves HTTP/2). */
  private final boolean h2;
  private java.util.concurrent.ScheduledFuture<?> watch;

  /** One thread checks every TLS listener's files for changes: a stat of each every few seconds. */
  private static final java.util.concurrent.ScheduledExecutorService WATCHER =
      java.util.concurrent.Executors.newSingleThreadScheduledExecutor(task -> {
        Thread thread = new Thread(task, "fulcrum-tls-watch");
        thread.setDaemon(true);
        return thread;
      });

  private TlsContext(String listener, TlsSettings settings, SniKeyManager keys, SSLContext context, boolean h2) {
    this.listener = listener;
    this.h2 = h2;
    this.settings = settings;
    this.keys = keys;
    this.context = context;
    SSLEngine probe = context.createSSLEngine();
    this.protocols = settings.protocols().toArray(String[]::new);
    this.ciphers = settings.ciphers().isEmpty()
        ? java.util.Arrays.stream(probe.getEnabledCipherSuites()).filter(TlsContext::modern).toArray(String[]::new)
        : settings.ciphers().toArray(String[]::new);
    this.stamps = stamps(settings);
  }

  /** How often certificate files are checked for changes. */
  public static final long WATCH_SECONDS = 2;

  /** The listener's TLS context, or null when it has no {@code tls} block. */
  public static TlsContext forListener(String listener, java.util.Optional<TlsSettings> settings) throws TlsException {
    return settings.isPresent() ? load(listener, settings.get()) : null;
  }

  /** Loads the certificates and the client CA; a problem is a {@link TlsException} naming the file. */
  public static TlsContext load(String listener, TlsSettings settings) throws TlsException {
    return load(listener, settings, false);
  }

  /** As {@link #load(String, TlsSettings)}; with {@code h2}, ALPN picks h2 for clients that offer it. */
  public static TlsContext load(String listener, TlsSettings settings, boolean h2) throws TlsException {
    SniKeyManager keys = new SniKeyManager(entries(settings));
    try {
      SSLContext context = TlsProviders.context(listener, settings.provider());
      TrustManagerFactory trust = null;
      if (settings.clientCa().isPresent()) {
        KeyStore cas = KeyStore.getInstance("PKCS12");
        cas.load(null, null);
        int i = 0;
        for (X509Certificate ca : PemFiles.certificates(settings.clientCa().get())) cas.setCertificateEntry("ca-" + i++, ca);
        trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trust.init(cas);
      }
      context.init(new javax.net.ssl.KeyManager[] {keys}, trust == null ? null : trust.getTrustManagers(), null);
      return new TlsContext(listener, settings, keys, context, h2);
    } catch (GeneralSecurityException | IOException e) {
      throw new TlsException("listener " + listener + ": TLS cannot be set up: " + e.getMessage());
    }
  }

  /** Whether clients are asked for a certificate (client-auth optional or required). */
  public boolean asksForClientCertificates() {
    return settings.clientAuth() != TlsSettings.ClientAuth.NONE;
  }

  /** The listener this context serves. */
  public String listener() {
    return listener;
  }

  /** How long a client may take from its accept to the end of the handshake. */
  public java.time.Duration handshakeTimeout() {
    return settings.handshakeTimeout();
  }

  public SSLContext sslContext() {
    return context;
  }

  /** A server engine with the listener's protocols, suites, ALPN and client authentication. */
  public SSLEngine newServerEngine() {
    SSLEngine engine = context.createSSLEngine();
    engine.setUseClientMode(false);
    SSLParameters parameters = engine.getSSLParameters();
    apply(parameters);
    engine.setSSLParameters(parameters);
    // Conscrypt sends no session tickets unless told to: without them its TLS 1.3 sessions would never resume
    if (settings.provider() == TlsSettings.Provider.CONSCRYPT) org.conscrypt.Conscrypt.setUseSessionTickets(engine, true);
    // h2 first when served, then http/1.1; as nginx, no ALPN answer (rather than an alert) when they offer only others
    engine.setHandshakeApplicationProtocolSelector((e, offered) -> {
      if (h2 && offered.contains("h2")) return "h2";
      return offered.contains("http/1.1") ? "http/1.1" : "";
    });
    return engine;
  }

  /**
   * A TLS server transport over {@code in} (the socket, or the socket behind bytes read already) for one client
   * connection of the nio engine; its handshake begins with the first read.
   */
  public dev.fulcrum.nio.Transport serverTransport(java.nio.channels.ByteChannel in, java.nio.channels.SocketChannel socket,
      tlschannel.BufferAllocator encryptedBuffers) {
    return dev.fulcrum.nio.Transport.tlsServer(in, socket, context, this::newServerEngine, encryptedBuffers);
  }

  /** The listener's protocols, suites and client authentication, on parameters of an engine of its context. */
  public void apply(SSLParameters parameters) {
    parameters.setProtocols(protocols);
    parameters.setCipherSuites(ciphers);
    parameters.setUseCipherSuitesOrder(true);
    switch (settings.clientAuth()) {
      case REQUIRED -> parameters.setNeedClientAuth(true);
      case OPTIONAL -> parameters.setWantClientAuth(true);
      case NONE -> {}
    }
  }

  /** Re-reads the certificate files; on a problem the certificates in use stay, and the problem is thrown. */
  public synchronized void reload() throws TlsException {
    List<SniKeyManager.Entry> next = entries(settings);
    keys.replace(next);
    stamps = stamps(settings);
    log.info("listener {}: TLS certificates reloaded: {}", listener, describe(next));
  }

  /** Reloads when a certificate file changed since the last load; a bad new file is logged, the old one kept. */
  public synchronized void reloadIfChanged() {
    List<Long> now = stamps(settings);
    if (now.equals(stamps)) return;
    try {
      reload();
    } catch (TlsException e) {
      stamps = now; // said once per change, not at every check
      log.error("listener {}: new TLS certificate files not used, the old ones stay: {}", listener, e.getMessage());
    }
  }

  /** Reloads the certificates whenever their files change (checked every {@code everySeconds}). */
  public synchronized void watch(long everySeconds) {
    if (watch == null) {
      watch = WATCHER.scheduleWithFixedDelay(this::reloadIfChanged, everySeconds, everySeconds,
          java.util.concurrent.TimeUnit.SECONDS);
    }
  }

  /** Stops watching the files (the listener stopped). */
  public synchronized void close() {
    if (watch != null) watch.cancel(false);
    watch = null;
  }

  /** The verified client certificate's subject, or null (no client certificate, or no TLS session). */
  public static String clientSubject(javax.net.ssl.SSLSession session) {
    if (session == null) return null;
    try {
      return session.getPeerPrincipal().getName();
    } catch (javax.net.ssl.SSLPeerUnverifiedException none) {
      return null;
    }
  }

  /** What each certificate serves, for the start-up log. */
  public String describe() {
    return describe(keys.entries());
  }

  private static String describe(List<SniKeyManager.Entry> entries) {
    List<String> parts = new ArrayList<>();
    for (SniKeyManager.Entry e : entries) parts.add(String.join(",", e.names()) + " (" + e.key().getAlgorithm() + ")");
    return String.join("; ", parts);
  }

  private static boolean modern(String suite) {
    return suite.startsWith("TLS_AES_") || suite.startsWith("TLS_CHACHA20_")
        || (suite.startsWith("TLS_ECDHE_") && (suite.contains("_GCM_") || suite.contains("CHACHA20")));
  }

  private static List<SniKeyManager.Entry> entries(TlsSettings settings) throws TlsException {
    long generation = GENERATIONS.incrementAndGet();
    List<SniKeyManager.Entry> entries = new ArrayList<>();
    int i = 0;
    for (TlsSettings.Certificate c : settings.certificates()) {
      try {
        SniKeyManager.Entry e = c.pkcs12().isPresent() ? fromPkcs12(c, generation + "-" + i) : fromPem(c, generation + "-" + i);
        checkValidity(e.chain()[0], c.pkcs12().orElseGet(() -> c.cert().orElseThrow()));
        entries.add(e);
      } catch (TlsException e) {
        throw new TlsException(c.configPath() + ": " + e.getMessage());
      }
      i++;
    }
    return entries;
  }

  /**
   * A certificate outside its validity period is refused when loaded: every client would refuse it at every handshake,
   * which is an outage found by users rather than a start-up error (or a reload that keeps the old one) found at once.
   */
  private static void checkValidity(X509Certificate certificate, Path file) throws TlsException {
    try {
      certificate.checkValidity();
    } catch (java.security.cert.CertificateExpiredException e) {
      throw new TlsException(file + ": the certificate expired on " + certificate.getNotAfter().toInstant()
          + " (notAfter)");
    } catch (java.security.cert.CertificateNotYetValidException e) {
      throw new TlsException(file + ": the certificate is not valid before " + certificate.getNotBefore().toInstant()
          + " (notBefore)");
    }
  }

  private static SniKeyManager.Entry fromPem(TlsSettings.Certificate c, String alias) throws TlsException {
    Path certFile = c.cert().orElseThrow();
    Path keyFile = c.key().orElseThrow();
    List<X509Certificate> chain = PemFiles.certificates(certFile);
    PrivateKey key = PemFiles.privateKey(keyFile);
    if (!chain.get(0).getPublicKey().getAlgorithm().equals(key.getAlgorithm())) {
      throw new TlsException(keyFile + ": an " + key.getAlgorithm() + " key for an "
          + chain.get(0).getPublicKey().getAlgorithm() + " certificate (" + certFile + ")");
    }
    return new SniKeyManager.Entry(alias, chain.toArray(X509Certificate[]::new), key, names(chain.get(0)));
  }

  private static SniKeyManager.Entry fromPkcs12(TlsSettings.Certificate c, String alias) throws TlsException {
    Path file = c.pkcs12().orElseThrow();
    try (InputStream in = Files.newInputStream(file)) {
      KeyStore store = KeyStore.getInstance("PKCS12");
      store.load(in, c.password().toCharArray());
      for (Enumeration<String> aliases = store.aliases(); aliases.hasMoreElements(); ) {
        String name = aliases.nextElement();
        Key key = store.getKey(name, c.password().toCharArray());
        if (!(key instanceof PrivateKey privateKey)) continue;
        Certificate[] chain = store.getCertificateChain(name);
        X509Certificate[] x509 = java.util.Arrays.copyOf(chain, chain.length, X509Certificate[].class);
        return new SniKeyManager.Entry(alias, x509, privateKey, names(x509[0]));
      }
      throw new TlsException(file + ": no private key with a certificate chain in it");
    } catch (IOException | GeneralSecurityException e) {
      throw new TlsException(file + ": cannot be read as PKCS#12 with the given password (" + e.getMessage() + ")");
    }
  }

  /** The DNS names of the certificate's subjectAltName, else its CN (RFC 6125 §6.4.4), lower case. */
  static List<String> names(X509Certificate certificate) throws TlsException {
    Set<String> names = new LinkedHashSet<>();
    try {
      var sans = certificate.getSubjectAlternativeNames();
      if (sans != null) {
        for (List<?> san : sans) {
          if ((Integer) san.get(0) == 2) names.add(((String) san.get(1)).toLowerCase(Locale.ROOT));
        }
      }
      if (names.isEmpty()) {
        for (Rdn rdn : new LdapName(certificate.getSubjectX500Principal().getName()).getRdns()) {
          if (rdn.getType().equalsIgnoreCase("CN")) names.add(rdn.getValue().toString().toLowerCase(Locale.ROOT));
        }
      }
    } catch (CertificateParsingException | javax.naming.InvalidNameException e) {
      throw new TlsException("a certificate's names cannot be read: " + e.getMessage());
    }
    return List.copyOf(names);
  }

  private static List<Long> stamps(TlsSettings settings) {
    List<Long> stamps = new ArrayList<>();
    for (TlsSettings.Certificate c : settings.certificates()) {
      for (Path p : List.of(c.cert(), c.key(), c.pkcs12()).stream().flatMap(java.util.Optional::stream).toList()) {
        try {
          stamps.add(Files.getLastModifiedTime(p).toMillis() ^ Files.size(p));
        } catch (IOException e) {
          stamps.add(-1L);
        }
      }
    }
    return Collections.unmodifiableList(stamps);
  }
}
