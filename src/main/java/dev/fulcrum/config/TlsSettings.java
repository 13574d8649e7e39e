package dev.fulcrum.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * TLS on a listener: its certificates (the first is for clients that name no host; the others are chosen by SNI from
 * the names their certificates hold), the protocol versions and TLS 1.2 cipher suites offered, and whether clients
 * must show a certificate signed by {@code clientCa}.
 */
public record TlsSettings(
    List<Certificate> certificates, List<String> protocols, List<String> ciphers, ClientAuth clientAuth,
    Optional<Path> clientCa) {

  public TlsSettings {
    certificates = List.copyOf(certificates);
    protocols = List.copyOf(protocols);
    ciphers = List.copyOf(ciphers);
  }

  /** A certificate chain and its key: PEM files, or one PKCS#12 file with its password. */
  public record Certificate(Optional<Path> cert, Optional<Path> key, Optional<Path> pkcs12, String password,
      String configPath) {}

  public enum ClientAuth { NONE, OPTIONAL, REQUIRED }
}
