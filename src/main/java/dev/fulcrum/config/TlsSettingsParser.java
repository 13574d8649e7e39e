package dev.fulcrum.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/** Reads a listener's {@code tls} block; every mistake names its path. Files must exist; their content is read later. */
final class TlsSettingsParser {
  private static final Config DEFAULTS = ConfigFactory.parseString(
      "protocols = [\"TLSv1.3\", \"TLSv1.2\"], ciphers = [], client-auth = none, handshake-timeout = 10s, provider = conscrypt");

  private TlsSettingsParser() {}

  /** The listener's TLS, or empty when it has no {@code tls} block. */
  static Optional<TlsSettings> parse(ConfigReader listener) {
    if (!listener.has("tls")) return Optional.empty();
    ConfigReader tls = new ConfigReader(
        listener.config().getConfig("tls").withFallback(DEFAULTS), listener.full("tls"));
    List<TlsSettings.Certificate> certificates = new ArrayList<>();
    List<? extends Config> list;
    try {
      list = tls.config().getConfigList("certificates");
    } catch (ConfigException.Missing e) {
      throw tls.error("certificates", "is missing: a list of {cert, key} (PEM) or {pkcs12, password}");
    } catch (ConfigException.WrongType e) {
      throw tls.error("certificates", "must be a list of {cert, key} (PEM) or {pkcs12, password}");
    }
    if (list.isEmpty()) throw tls.error("certificates", "is empty: a TLS listener needs at least one certificate");
    for (int i = 0; i < list.size(); i++) {
      ConfigReader c = new ConfigReader(list.get(i), tls.full("certificates[" + i + "]"));
      certificates.add(certificate(c));
    }
    List<String> protocols = strings(tls, "protocols");
    for (String p : protocols) {
      if (!p.equals("TLSv1.3") && !p.equals("TLSv1.2")) {
        throw tls.error("protocols", "'" + p + "' is not offered: TLSv1.3 and TLSv1.2 only");
      }
    }
    if (protocols.isEmpty()) throw tls.error("protocols", "is empty");
    String auth = tls.string("client-auth");
    TlsSettings.ClientAuth clientAuth;
    try {
      clientAuth = TlsSettings.ClientAuth.valueOf(auth.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw tls.error("client-auth", "must be none, optional or required, got '" + auth + "'");
    }
    Optional<Path> clientCa = tls.has("client-ca") ? Optional.of(file(tls, "client-ca")) : Optional.empty();
    if (clientAuth != TlsSettings.ClientAuth.NONE && clientCa.isEmpty()) {
      throw tls.error("client-ca", "is missing: client-auth = " + auth + " needs the CA bundle (PEM) client certificates are checked against");
    }
    String provider = tls.string("provider");
    TlsSettings.Provider chosen;
    try {
      chosen = TlsSettings.Provider.valueOf(provider.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw tls.error("provider", "must be jdk or conscrypt, got '" + provider + "'");
    }
    return Optional.of(new TlsSettings(certificates, protocols, strings(tls, "ciphers"), clientAuth, clientCa,
        tls.positiveDuration("handshake-timeout"), chosen));
  }

  private static TlsSettings.Certificate certificate(ConfigReader c) {
    boolean pem = c.has("cert") || c.has("key");
    if (c.has("pkcs12")) {
      if (pem) throw c.error("pkcs12", "give either cert and key (PEM) or pkcs12, not both");
      String password = c.has("password") ? c.string("password") : "";
      return new TlsSettings.Certificate(Optional.empty(), Optional.empty(), Optional.of(file(c, "pkcs12")), password, c.path());
    }
    if (!c.has("cert")) throw c.error("cert", "is missing: the PEM certificate chain (or give pkcs12)");
    if (!c.has("key")) throw c.error("key", "is missing: the PEM private key (PKCS#8) of the certificate");
    return new TlsSettings.Certificate(Optional.of(file(c, "cert")), Optional.of(file(c, "key")), Optional.empty(), "",
        c.path());
  }

  private static Path file(ConfigReader r, String key) {
    String text = r.string(key);
    if (text.isBlank()) throw r.error(key, "is empty");
    Path path = Path.of(text);
    if (!Files.isReadable(path)) throw r.error(key, "'" + text + "' is not a readable file");
    return path;
  }

  private static List<String> strings(ConfigReader r, String key) {
    try {
      return r.config().getStringList(key);
    } catch (ConfigException e) {
      throw r.error(key, "must be a list of strings");
    }
  }
}
