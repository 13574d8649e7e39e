package dev.fulcrum.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigSyntax;
import com.typesafe.config.ConfigValue;

/**
 * An admin API body read by the config's parsers. Its values keep their origin, so that {@link ConfigReader} holds a
 * JSON body's values to their JSON type: HOCON turns the string "3" into the number 3 and "yes" into true, as a config
 * file may rely on, but a JSON client that sends {@code "rise": "3"} has a bug of its own that a silent coercion would
 * hide. A body that is HOCON (where the API takes it, a config snippet pasted as it is) keeps HOCON's rules.
 */
public final class RequestBody {
  /** The origin description of every value a body gave; config messages leave it out (see ConfigReader). */
  static final String ORIGIN = "request body";
  private static final String HOCON = ORIGIN + " in HOCON";

  private RequestBody() {}

  /** The body as a config: JSON only, or JSON or else HOCON ({@code json == false}). */
  public static Config parse(String text, boolean json) throws ConfigException {
    String body = text.isBlank() ? "{}" : text;
    ConfigParseOptions options = ConfigParseOptions.defaults().setOriginDescription(ORIGIN).setSyntax(ConfigSyntax.JSON);
    if (json) return ConfigFactory.parseString(body, options);
    try {
      return ConfigFactory.parseString(body, options);
    } catch (ConfigException.Parse notJson) {
      return ConfigFactory.parseString(body, options.setSyntax(ConfigSyntax.CONF).setOriginDescription(HOCON));
    }
  }

  /** Whether the value was written in a JSON request body (not a HOCON one, a config file, a default or the code). */
  static boolean wroteJson(ConfigValue value) {
    String where = value.origin().description();
    return where != null && where.startsWith(ORIGIN) && !where.startsWith(HOCON);
  }
}
