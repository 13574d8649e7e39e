package dev.fulcrum.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigSyntax;
import com.typesafe.config.ConfigValue;

/**
 * An admin API body read by the config's parsers. Its values keep this origin, so that {@link ConfigReader} holds them
 * to their JSON type: HOCON turns the string "3" into the number 3 and "yes" into true for a config file, but a client
 * that sends {@code "rise": "3"} has a bug of its own, which a silent coercion would hide.
 */
public final class RequestBody {
  /** The origin description of every value a request body gave; config messages show it as "(request body: 1)". */
  static final String ORIGIN = "request body";

  private RequestBody() {}

  /** The body as a config: JSON only, or JSON and HOCON ({@code json == false}). */
  public static Config parse(String text, boolean json) throws ConfigException {
    ConfigParseOptions options = ConfigParseOptions.defaults().setOriginDescription(ORIGIN);
    return ConfigFactory.parseString(text.isBlank() ? "{}" : text, json ? options.setSyntax(ConfigSyntax.JSON) : options);
  }

  /** Whether the value was written in a request body (not a config file, a default or the code). */
  static boolean wrote(ConfigValue value) {
    String where = value.origin().description();
    return where != null && where.startsWith(ORIGIN);
  }
}
