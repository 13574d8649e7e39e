package dev.fulcrum.admin;

import dev.fulcrum.config.BackendTlsSettings;
import dev.fulcrum.config.BackendTlsSettingsParser;
import dev.fulcrum.config.SettingsException;
import dev.fulcrum.tls.BackendTls;
import dev.fulcrum.tls.TlsException;
import java.util.Optional;

/**
 * A pool's {@code tls} as the admin API takes it: read by the config's parser and loaded on the node that takes the
 * call, so a file that cannot be used is a 400 naming its field ({@code tls.ca-file: ...}) before anything is
 * journaled.
 */
final class PoolTls {
  private PoolTls() {}

  static Optional<BackendTlsSettings> parse(String json) {
    Optional<BackendTlsSettings> tls = BackendTlsSettingsParser.parseJson(json);
    if (tls.isPresent()) {
      try {
        BackendTls.of(tls.get());
      } catch (TlsException e) {
        throw new SettingsException("tls." + e.getMessage());
      }
    }
    return tls;
  }
}
