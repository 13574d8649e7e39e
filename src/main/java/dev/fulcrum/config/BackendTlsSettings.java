package dev.fulcrum.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * TLS from Fulcrum to a pool's backends ({@code fulcrum.pools.<pool>.tls}): the backend's certificate is verified
 * against {@code caFile} (else the JDK's system trust store) and, with {@code verifyHostname}, must name
 * {@code serverName} (else the backend's host); that name also goes out as SNI. {@code certFile} and {@code keyFile}
 * are the client certificate shown to backends that ask for one. Node-local, as certificate files are: not journaled.
 */
public record BackendTlsSettings(
    Optional<Path> caFile, Optional<String> serverName, boolean verifyHostname, Optional<Path> certFile,
    Optional<Path> keyFile, List<String> protocols, String configPath) {

  public BackendTlsSettings {
    protocols = List.copyOf(protocols);
  }
}
