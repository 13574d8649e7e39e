package dev.fulcrum.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Reads a pool's {@code tls} block (TLS to its backends), from the config or from an admin API body; every mistake
 * names its path, files must be readable.
 */
public final class BackendTlsSettingsParser {
  private static final Config DEFAULTS = ConfigFactory.parseString(
      "enabled = true, verify-hostname = true, protocols = [\"TLSv1.3\", \"TLSv1.2\"]");

  /** The fields of a {@code tls} block. */
  public static final java.util.Set<String> FIELDS =
      java.util.Set.of("enabled", "ca-file", "server-name", "verify-hostname", "cert-file", "key-file", "protocols");

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
    for (String key : tls.config().root().keySet()) {
      if (!FIELDS.contains(key)) {
        throw tls.error("\"" + key + "\"", "is not a setting of a pool's tls (" + String.join(", ", FIELDS.stream().sorted().toList()) + ")");
      }
    }
    if (!tls.bool("enabled")) return Optional.empty();
    Optional<String> cert = optionalFile(tls, "cert-file");
    Optional<String> key = optionalFile(tls, "key-file");
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
    return Optional.of(new BackendTlsSettings(optionalFile(tls, "ca-file"), serverName, tls.bool("verify-hostname"),
        cert, key, protocols));
  }

  /**
   * A {@code tls} block given as JSON (the admin API's {@code "tls"} field or {@code PUT /api/pools/{pool}/tls}): the
   * same fields and checks as in the config, errors naming {@code tls.<field>}. Empty for {@code "enabled": false}.
   */
  public static Optional<BackendTlsSettings> parseJson(String json) {
    Config body;
    try {
      body = RequestBody.parse(json, true);
    } catch (ConfigException e) {
      throw new SettingsException("tls: not a JSON object: " + e.getMessage());
    }
    Config wrapped = ConfigFactory.empty().withValue("tls", body.root());
    try {
      return parse(new ConfigReader(wrapped, ""));
    } catch (SettingsException e) {
      throw new SettingsException(e.getMessage().replaceAll(" \\(request body(: \\d+)?\\)$", ""));
    }
  }

  /** The settings as the admin API shows them and takes them back: the config's field names. */
  public static java.util.Map<String, Object> render(Optional<BackendTlsSettings> settings) {
    java.util.Map<String, Object> map = new java.util.LinkedHashMap<>();
    map.put("enabled", settings.isPresent());
    if (settings.isEmpty()) return map;
    BackendTlsSettings s = settings.get();
    s.caFile().ifPresent(f -> map.put("ca-file", f));
    s.serverName().ifPresent(n -> map.put("server-name", n));
    map.put("verify-hostname", s.verifyHostname());
    s.certFile().ifPresent(f -> map.put("cert-file", f));
    s.keyFile().ifPresent(f -> map.put("key-file", f));
    map.put("protocols", s.protocols());
    return map;
  }

  private static Optional<String> optionalFile(ConfigReader r, String key) {
    if (!r.has(key)) return Optional.empty();
    String text;
    try {
      text = r.config().getString(key);
    } catch (ConfigException e) {
      throw r.error(key, "must be a file name");
    }
    if (text.isBlank()) throw r.error(key, "is empty");
    if (!Files.isReadable(Path.of(text))) throw r.error(key, "cannot read '" + text + "': not a readable file");
    return Optional.of(text);
  }
}
