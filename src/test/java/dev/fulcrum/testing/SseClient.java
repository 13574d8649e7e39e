package dev.fulcrum.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A Server-Sent Events client over a real connection, reading as the browser's EventSource does: fields up to a blank
 * line make one message; a comment line (":") is kept as a message of its own, so tests can see heartbeats.
 */
public final class SseClient implements AutoCloseable {
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  /** One message: an event (with its id, type and data) or a comment; {@code receivedAt}: its arrival (nanoTime). */
  public record Message(String id, String event, String data, String comment, long receivedAt) {
    public boolean isComment() {
      return comment != null;
    }
  }

  private final HttpResponse<InputStream> response;
  private final LinkedBlockingQueue<Message> messages = new LinkedBlockingQueue<>();
  private volatile boolean ended;

  private SseClient(HttpResponse<InputStream> response) {
    this.response = response;
    Thread reader = new Thread(this::read, "sse-client");
    reader.setDaemon(true);
    reader.start();
  }

  /** Opens {@code path} (with its query) on the admin API; returns once the response head is in. */
  public static SseClient open(InetSocketAddress admin, String path, Optional<String> lastEventId) {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + admin.getPort() + path))
        .header("Accept", "text/event-stream");
    lastEventId.ifPresent(id -> request.header("Last-Event-ID", id));
    try {
      return new SseClient(HTTP.send(request.build(), HttpResponse.BodyHandlers.ofInputStream()));
    } catch (IOException | InterruptedException e) {
      throw new AssertionError("cannot open " + path, e);
    }
  }

  public int status() {
    return response.statusCode();
  }

  public String contentType() {
    return response.headers().firstValue("Content-Type").orElse("");
  }

  /** The next message, comment or event. */
  public Message next(Duration wait) {
    try {
      Message m = messages.poll(wait.toMillis(), TimeUnit.MILLISECONDS);
      if (m == null) throw new AssertionError("no message within " + wait + (ended ? " (the stream ended)" : ""));
      return m;
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
  }

  /** The next event, skipping comments. */
  public Message nextEvent(Duration wait) {
    long deadline = System.nanoTime() + wait.toNanos();
    while (true) {
      Message m = next(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
      if (!m.isComment()) return m;
    }
  }

  /** Waits for a comment with this text, skipping events (and failing on none). */
  public void awaitComment(String text, Duration wait) {
    long deadline = System.nanoTime() + wait.toNanos();
    while (true) {
      Message m = next(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
      if (m.isComment() && m.comment().strip().equals(text)) return;
    }
  }

  public String body() {
    try (InputStream in = response.body()) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  private void read() {
    try (BufferedReader in = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
      String id = null;
      String event = null;
      StringBuilder data = null;
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        if (line.isEmpty()) {
          if (data != null || event != null || id != null) {
            messages.add(new Message(id, event, data == null ? "" : data.toString(), null, System.nanoTime()));
          }
          id = null;
          event = null;
          data = null;
        } else if (line.startsWith(":")) {
          messages.add(new Message(null, null, null, line.substring(1), System.nanoTime()));
        } else {
          int colon = line.indexOf(':');
          String field = colon < 0 ? line : line.substring(0, colon);
          String value = colon < 0 ? "" : line.substring(colon + 1);
          if (value.startsWith(" ")) value = value.substring(1);
          switch (field) {
            case "id" -> id = value;
            case "event" -> event = value;
            case "data" -> data = data == null ? new StringBuilder(value) : data.append('\n').append(value);
            default -> { }
          }
        }
      }
    } catch (IOException e) {
      // closed by the test, or by the server
    } finally {
      ended = true;
    }
  }

  @Override
  public void close() {
    try {
      response.body().close();
    } catch (IOException e) {
      // closing anyway
    }
  }
}
