package dev.fulcrum.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Optional;

/** A real HTTP client for a node's admin API, with an optional bearer token. */
public final class AdminClient {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final String base;
  private final Optional<String> token;

  public AdminClient(InetSocketAddress admin, Optional<String> token) {
    this.base = "http://" + admin.getHostString() + ":" + admin.getPort();
    this.token = token;
  }

  public record Response(int status, String body, HttpResponse<String> raw) {
    public JsonNode json() {
      try {
        return MAPPER.readTree(body);
      } catch (IOException e) {
        throw new AssertionError("not JSON (" + status + "): " + body, e);
      }
    }

    public String error() {
      return json().path("error").asText();
    }

    @Override
    public String toString() {
      return status + " " + body;
    }
  }

  public Response get(String path) {
    return send("GET", path, null, token);
  }

  public Response delete(String path) {
    return send("DELETE", path, null, token);
  }

  public Response post(String path, String json) {
    return send("POST", path, json, token);
  }

  public Response put(String path, String json) {
    return send("PUT", path, json, token);
  }

  public Response patch(String path, String json) {
    return send("PATCH", path, json, token);
  }

  /** Sends with the given token (empty: no Authorization header) instead of the client's. */
  public Response send(String method, String path, String json, Optional<String> withToken) {
    return send(method, path, json, withToken, java.util.Map.of());
  }

  /** As {@link #send(String, String, String, Optional)}, with extra request headers. */
  public Response send(String method, String path, String json, Optional<String> withToken, java.util.Map<String, String> headers) {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(15))
        .method(method, json == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(json));
    if (json != null) request.header("Content-Type", "application/json");
    withToken.ifPresent(t -> request.header("Authorization", "Bearer " + t));
    headers.forEach(request::header);
    try {
      HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
      return new Response(response.statusCode(), response.body(), response);
    } catch (IOException e) {
      throw new AssertionError(method + " " + path + " failed: " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted");
    }
  }
}
