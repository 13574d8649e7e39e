package dev.fulcrum.config;

import java.util.List;
import java.util.Optional;

/**
 * TLS from Fulcrum to a pool's backends ({@code tls} of a pool: in the config, the admin API or the Java API): the
 * backend's certificate is verified against {@code caFile} (else the JDK's system trust store) and, with
 * {@code verifyHostname}, must name {@code serverName} (else the backend's host); that name also goes out as SNI.
 * {@code certFile} and {@code keyFile} are the client certificate shown to backends that ask for one.
 *
 * <p>Part of the pool's definition, so journaled and replicated: files are named as the user wrote them (strings, not
 * paths, so a journal reads back the same whatever the node's working directory) and each node reads them from its
 * own disk. Journals written before pools had TLS read back with none.
 */
public record BackendTlsSettings(
    Optional<String> caFile, Optional<String> serverName, boolean verifyHostname, Optional<String> certFile,
    Optional<String> keyFile, List<String> protocols) {

  public static final List<String> DEFAULT_PROTOCOLS = List.of("TLSv1.3", "TLSv1.2");

  public BackendTlsSettings {
    caFile = caFile == null ? Optional.empty() : caFile;
    serverName = serverName == null ? Optional.empty() : serverName;
    certFile = certFile == null ? Optional.empty() : certFile;
    keyFile = keyFile == null ? Optional.empty() : keyFile;
    protocols = protocols == null ? DEFAULT_PROTOCOLS : List.copyOf(protocols);
  }

  /**
   * What is wrong with these settings, naming the field, if anything is; files are not read here (they are node-local:
   * the entity that checks this may run on another node than the one that read them).
   */
  public Optional<String> problem() {
    if (certFile.isPresent() != keyFile.isPresent()) {
      return Optional.of((certFile.isPresent() ? "key-file" : "cert-file")
          + ": is missing: a client certificate needs both cert-file (PEM chain) and key-file (PKCS#8 PEM)");
    }
    for (Optional<String> file : List.of(caFile, certFile, keyFile)) {
      if (file.isPresent() && file.get().isBlank()) return Optional.of("a file name is empty");
    }
    if (serverName.isPresent()) {
      String name = serverName.get();
      if (name.isEmpty() || name.contains(" ") || name.contains("/")) {
        return Optional.of("server-name: '" + name + "' is not a host name");
      }
    }
    if (protocols.isEmpty()) return Optional.of("protocols: is empty");
    for (String p : protocols) {
      if (!p.equals("TLSv1.3") && !p.equals("TLSv1.2")) {
        return Optional.of("protocols: '" + p + "' is not offered: TLSv1.3 and TLSv1.2 only");
      }
    }
    return Optional.empty();
  }
}
