package dev.fulcrum.admin;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.ser.std.ToStringSerializer;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.fulcrum.config.BackendSettings;
import dev.fulcrum.config.HostPort;
import dev.fulcrum.routing.StrategyKind;
import java.io.IOException;
import java.util.Iterator;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.model.HttpRequest;

/**
 * The admin API's JSON: addresses as "host:port", strategies by their config names, other enums in lower case,
 * instants and durations in ISO-8601. Request bodies are checked field by field so that errors name the field.
 */
final class Json {
  @SuppressWarnings("rawtypes") // one serializer for every enum type
  static final ObjectMapper MAPPER = new ObjectMapper()
      .registerModule(new Jdk8Module())
      .registerModule(new JavaTimeModule())
      .registerModule(new SimpleModule("fulcrum-admin")
          .addSerializer(HostPort.class, ToStringSerializer.instance)
          .addSerializer(StrategyKind.class, new JsonSerializer<>() {
            @Override
            public void serialize(StrategyKind value, JsonGenerator gen, SerializerProvider provider) throws IOException {
              gen.writeString(value.configName());
            }
          })
          .addSerializer(Enum.class, new JsonSerializer<>() {
            @Override
            public void serialize(Enum value, JsonGenerator gen, SerializerProvider provider) throws IOException {
              gen.writeString(value.name().toLowerCase(Locale.ROOT).replace('_', '-'));
            }
          }))
      .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
      .disable(SerializationFeature.WRITE_DURATIONS_AS_TIMESTAMPS)
      .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
      // A body is exactly one JSON value: '{"weight":1} {"weight":2}' is refused, not read as its first half.
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  private Json() {}

  static String write(Object value) {
    try {
      return MAPPER.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot render " + value.getClass().getSimpleName(), e);
    }
  }

  static ObjectNode object() {
    return MAPPER.createObjectNode();
  }

  /**
   * The request's whole body as text, read within {@code timeout}. What follows it runs on the thread that read it, the
   * admin server's stream, where the handler runs anyway: the stage Pekko returns wraps a Scala future, which hands
   * every continuation to CompletableFuture's default executor, and on a JVM that sees two cores or fewer that starts a
   * new thread for each.
   */
  static CompletionStage<String> text(HttpRequest request, long maxBytes, java.time.Duration timeout, ActorSystem<?> system) {
    return request.entity().toStrict(timeout.toMillis(), maxBytes, system)
        .handleAsync((strict, failure) -> {
          if (failure == null) return utf8(strict.getData());
          throw unreadable(dev.fulcrum.Failures.unwrap(failure), maxBytes);
        }, Runnable::run);
  }

  /** RFC 8259 §8.1: JSON is UTF-8; a byte that is not would otherwise become U+FFFD in a name that is journaled. */
  private static String utf8(org.apache.pekko.util.ByteString data) {
    try {
      return java.nio.charset.StandardCharsets.UTF_8.newDecoder().decode(data.asByteBuffer()).toString();
    } catch (java.nio.charset.CharacterCodingException e) {
      throw ApiError.badRequest("the body is not UTF-8 text");
    }
  }

  /**
   * A body that could not be read, as the API answers it: too large (a chunked body has no Content-Length to refuse it
   * by before it is read) or broken off; anything else (the read's timeout) as it came.
   */
  private static RuntimeException unreadable(Throwable failure, long maxBytes) {
    if (failure instanceof org.apache.pekko.http.scaladsl.model.EntityStreamSizeException
        || failure instanceof org.apache.pekko.http.scaladsl.model.EntityStreamException e && e.info().summary().startsWith("Request too large")) {
      return new ApiError(org.apache.pekko.http.javadsl.model.StatusCodes.CONTENT_TOO_LARGE, "the body is larger than " + maxBytes + " bytes");
    }
    if (failure instanceof org.apache.pekko.http.scaladsl.model.EntityStreamException e) {
      return ApiError.badRequest("cannot read the body: " + e.info().summary());
    }
    return failure instanceof java.util.concurrent.CompletionException c ? c : new java.util.concurrent.CompletionException(failure);
  }

  /** Parses a request body that must be a JSON object with only the given fields (any, when null). */
  static ObjectNode body(String text, Set<String> allowed) {
    if (text.isBlank()) throw ApiError.badRequest("the body is empty; a JSON object is expected");
    JsonNode node;
    try {
      node = MAPPER.readTree(text);
    } catch (JsonProcessingException e) {
      throw ApiError.badRequest("invalid JSON: " + problem(e) + at(e));
    }
    return object(node, "body", allowed);
  }

  static ObjectNode object(JsonNode node, String what, Set<String> allowed) {
    if (!(node instanceof ObjectNode object)) throw ApiError.badRequest(what + " must be a JSON object");
    for (Iterator<String> names = object.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (allowed != null && !allowed.contains(name)) {
        // worded as the config's onlyKnown words a misspelt setting: the name, the one probably meant, the known ones
        String near = dev.fulcrum.config.UnknownSettings.nearest(name, allowed);
        throw ApiError.badRequest("unknown field '" + prefix(what) + name + "'" + (near == null ? "" : " (did you mean " + near + "?)")
            + " (allowed: " + String.join(", ", allowed.stream().sorted().toList()) + ")");
      }
    }
    return object;
  }

  static String requiredString(ObjectNode object, String field, String path) {
    JsonNode value = object.get(field);
    if (value == null || value.isNull()) throw ApiError.badRequest("field '" + path + "' is missing");
    if (!value.isTextual()) throw ApiError.badRequest("field '" + path + "' must be a string");
    return value.asText();
  }

  static HostPort address(ObjectNode object, String field, String path) {
    return address(requiredString(object, field, path), path);
  }

  static HostPort address(String text, String path) {
    try {
      return HostPort.parse(text, false);
    } catch (IllegalArgumentException e) {
      throw ApiError.badRequest("field '" + path + "': " + e.getMessage());
    }
  }

  static int weight(ObjectNode object, String field, String path, int absent) {
    JsonNode value = object.get(field);
    if (value == null) return absent;
    if (!value.isIntegralNumber() || !value.canConvertToInt()) {
      throw ApiError.badRequest("field '" + path + "' must be an integer 0-" + BackendSettings.MAX_WEIGHT);
    }
    int weight = value.intValue();
    if (weight < 0 || weight > BackendSettings.MAX_WEIGHT) {
      throw ApiError.badRequest("field '" + path + "': weight " + weight + " is outside 0-" + BackendSettings.MAX_WEIGHT);
    }
    return weight;
  }

  static StrategyKind strategy(ObjectNode object, String field, String absent) {
    JsonNode value = object.get(field);
    if (value == null && absent == null) throw ApiError.badRequest("field '" + field + "' is missing");
    String name = value == null ? absent : value.isTextual() ? value.asText() : null;
    if (name == null) throw ApiError.badRequest("field '" + field + "' must be a string");
    try {
      return StrategyKind.fromName(name);
    } catch (IllegalArgumentException e) {
      throw ApiError.badRequest("field '" + field + "': " + e.getMessage());
    }
  }

  private static String prefix(String what) {
    return what.equals("body") ? "" : what + ".";
  }

  /**
   * Jackson's words for the problem, without its note on a source it was told not to show ("[Source: REDACTED
   * (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled); line: 1, column: 1]"): the line and column stay.
   */
  private static String problem(JsonProcessingException e) {
    return SOURCE_NOTE.matcher(e.getOriginalMessage()).replaceAll("line $1, column $2");
  }

  private static final java.util.regex.Pattern SOURCE_NOTE = java.util.regex.Pattern.compile("\\[Source: [^\\]]*?line: (\\d+), column: (\\d+)\\]");

  private static String at(JsonProcessingException e) {
    return e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")";
  }
}
