package dev.fulcrum.config;

import java.util.Locale;

/** Whether a PROXY protocol header goes to backends first, and which version (HAProxy's send-proxy, send-proxy-v2). */
public enum ProxyProtocolVersion {
  OFF, V1, V2;

  static ProxyProtocolVersion parse(ConfigReader r, String key) {
    String text = r.string(key);
    try {
      return valueOf(text.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw r.error(key, "must be off, v1 or v2, got '" + text + "'");
    }
  }
}
