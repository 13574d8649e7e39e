package dev.fulcrum.admin;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fulcrum.config.BackendProtocol;
import dev.fulcrum.config.SettingsException;

/**
 * A pool's protocol to its backends as the admin API takes it: {@code "h2c"}, or the config's fields {@code
 * {"protocol": "h2c", "max-concurrent-streams": 50}} (the form {@code GET /api/pools/{pool}/protocol} shows).
 */
final class PoolProtocol {
  private PoolProtocol() {}

  static BackendProtocol parse(JsonNode json) {
    if (json.isTextual()) return BackendProtocol.parseJson(Json.object().put("protocol", json.asText()).toString());
    if (!json.isObject()) throw new SettingsException("protocol: must be a protocol name (http/1.1, h2, h2c) or an object");
    return BackendProtocol.parseJson(json.toString());
  }

  static BackendProtocol parse(String body) {
    try {
      return parse(Json.MAPPER.readTree(body.isBlank() ? "{}" : body));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new SettingsException("protocol: not JSON: " + e.getOriginalMessage());
    }
  }
}
