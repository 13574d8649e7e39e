package dev.fulcrum.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** Reads a pool's {@code tls} block (TLS to its backends); every mistake names its path, files must be readable. */
final class BackendTlsSettingsParser {
  private static final Config DEFAULTS = ConfigFactory.parseString(
      "enabled = true, verify-hostname = true, protocols = [\"TLSv1.3\", \"TLSv1.2\"]");

  private BackendTlsSettingsParser() {}

  /** The pool's backend TLS, or empty when it has no {@code tls} block or {@code enabled = false}. */
  static Optional<BackendTlsSettings> parse(ConfigReader pool) {
    if (!pool.has("tls")) return Optional.empty();
    ConfigReader tls;
    try {
      tls = new ConfigReader(pool.config().getConfig("tls").withFallback(DEFAULTS), pool.full("tls"));
    } catch (ConfigException.WrongType e) {
      throw pool.error("tls", "must be a block like {enabled = true, ca-file = \"ca.pem\"}");
    }
    if (!bool(tls, "enabled")) return Optional.empty();
    Optional<Path> cert = optionalFile(tls, "cert-file");
    Optional<Path> key = optionalFile(tls, "key-file");
    if (cert.isPresent() != key.isPresent()) {
      throw tls.error(cert.isPresent() ? "key-file" : "cert-file",
          "is missing: a client certificate needs both cert-file (PEM chain) and key-file (PKCS#8 PEM)");
    }
    Optional<String> serverName = Optional.empty();
    if (tls.has("server-name")) {
      String name = tls.string("server-name").trim();
      if (name.isEmpty() || name.contains(" ") || name.contains("/")) {
        throw tls.error("server-name", "'" + name + "' is not a host name");
      }
      serverName = Optional.of(name);
    }
    List<String> protocols;
    try {
      protocols = tls.config().getStringList("protocols");
    } catch (ConfigException e) {
      throw tls.error("protocols", "must be a list of strings");
    }
    if (protocols.isEmpty()) throw tls.error("protocols", "is empty");
    for (String p : protocols) {
      if (!p.equals("TLSv1.3") && !p.equals("TLSv1.2")) throw tls.error("protocols", "'" + p + "' is not offered: TLSv1.3 and TLSv1.2 only");
    }
    return Optional.of(new BackendTlsSettings(optionalFile(tls, "ca-file"), serverName, bool(tls, "verify-hostname"),
        cert, key, protocols, tls.path()));
  }

  private static boolean bool(ConfigReader r, String key) {
    try {
      return r.config().getBoolean(key);
    } catch (ConfigException e) {
      throw r.error(key, "must be true or false");
    }
  }

  private static Optional<Path> optionalFile(ConfigReader r, String key) {
    if (!r.has(key)) return Optional.empty();
    String text = r.string(key);
    if (text.isBlank()) throw r.error(key, "is empty");
    Path path = Path.of(text);
    if (!Files.isReadable(path)) throw r.error(key, "'" + text + "' is not a readable file");
    return Optional.of(path);
  }
}
