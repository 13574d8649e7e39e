package dev.fulcrum.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * TLS on a listener: its certificates (the first is for clients that name no host; the others are chosen by SNI from
 * the names their certificates hold), the protocol versions and TLS 1.2 cipher suites offered, and whether clients
 * must show a certificate signed by {@code clientCa}. A handshake not done within {@code handshakeTimeout} of the
 * accept is given up (a client trickling its hello in, as slowloris). {@code provider} says whose TLS implementation does
 * the work.
 */
public record TlsSettings(
    List<Certificate> certificates, List<String> protocols, List<String> ciphers, ClientAuth clientAuth,
    Optional<Path> clientCa, java.time.Duration handshakeTimeout, Provider provider) {

  /** The default handshake timeout (HAProxy bounds a handshake by its {@code timeout client}, nginx by 60 s). */
  public static final java.time.Duration HANDSHAKE_TIMEOUT = java.time.Duration.ofSeconds(10);

  public TlsSettings(List<Certificate> certificates, List<String> protocols, List<String> ciphers, ClientAuth clientAuth,
      Optional<Path> clientCa) {
    this(certificates, protocols, ciphers, clientAuth, clientCa, HANDSHAKE_TIMEOUT, Provider.JDK);
  }

  public TlsSettings(List<Certificate> certificates, List<String> protocols, List<String> ciphers, ClientAuth clientAuth,
      Optional<Path> clientCa, java.time.Duration handshakeTimeout) {
    this(certificates, protocols, ciphers, clientAuth, clientCa, handshakeTimeout, Provider.JDK);
  }

  public TlsSettings {
    certificates = List.copyOf(certificates);
    protocols = List.copyOf(protocols);
    ciphers = List.copyOf(ciphers);
  }

  /** A certificate chain and its key: PEM files, or one PKCS#12 file with its password. */
  public record Certificate(Optional<Path> cert, Optional<Path> key, Optional<Path> pkcs12, String password,
      String configPath) {}

  public enum ClientAuth { NONE, OPTIONAL, REQUIRED }

  /** Whose TLS: the JDK's own (JSSE), or Conscrypt (BoringSSL through the same API; native code, Linux x86-64 here). */
  public enum Provider { JDK, CONSCRYPT }
}
