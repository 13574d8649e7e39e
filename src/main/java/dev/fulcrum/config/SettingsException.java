package dev.fulcrum.config;

/**
 * A configuration mistake a user can fix: the message names the config path (and file and line where known) and the
 * problem, so start-up can print it as one line without a stack trace.
 */
public final class SettingsException extends RuntimeException {
  public SettingsException(String message) {
    super(message, null, false, false);
  }
}
