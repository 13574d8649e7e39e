package dev.fulcrum.http;

import dev.fulcrum.testing.HttpBackend;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;

/**
 * A real HTTP backend that records every request it receives and answers with its name, or with what a test's own
 * answer makes of the request.
 */
final class RecordingBackend implements AutoCloseable {
  record Received(String method, String target, Map<String, List<String>> headers, String body) {
    String header(String name) {
      List<String> values = headers.get(name.toLowerCase(Locale.ROOT));
      return values == null ? null : String.join(", ", values);
    }
  }

  final String name;
  private final LinkedBlockingQueue<Received> received = new LinkedBlockingQueue<>();
  private final HttpBackend server;

  RecordingBackend(ActorSystem<?> system, String name) {
    this(system, name, request -> HttpResponse.create()
        .withEntity(name)
        .addHeader(RawHeader.create("X-Backend", name))
        .addHeader(RawHeader.create("X-Internal", "secret"))
        .addHeader(RawHeader.create("X-Request-Id", "backend-made-up")));
  }

  RecordingBackend(ActorSystem<?> system, String name, Function<HttpRequest, HttpResponse> answer) {
    this.name = name;
    this.server = new HttpBackend(system, request -> record(system, request, answer));
  }

  private CompletionStage<HttpResponse> record(
      ActorSystem<?> system, HttpRequest request, Function<HttpRequest, HttpResponse> answer) {
    return request.entity().toStrict(5_000, system).thenApply(strict -> {
      Map<String, List<String>> headers = new LinkedHashMap<>();
      for (HttpHeader h : request.getHeaders()) headers.computeIfAbsent(h.lowercaseName(), k -> new ArrayList<>()).add(h.value());
      if (!request.getUri().path().equals("/health")) {
        received.add(new Received(request.method().value(), target(request), headers, ((HttpEntity.Strict) strict).getData().utf8String()));
      }
      return answer.apply(request);
    });
  }

  /** Path (with %2F kept encoded) and raw query; not Uri.toRelative, which rejects a path starting with "//". */
  static String target(HttpRequest request) {
    return request.getUri().path() + request.getUri().rawQueryString().map(q -> "?" + q).orElse("");
  }

  String address() {
    return server.address();
  }

  HttpBackend server() {
    return server;
  }

  /** The next request this backend received (waits up to 5 s). */
  Received next() {
    try {
      Received r = received.poll(5, TimeUnit.SECONDS);
      if (r == null) throw new AssertionError(name + " received no request");
      return r;
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
  }

  int pending() {
    return received.size();
  }

  void clear() {
    received.clear();
  }

  @Override
  public void close() {
    server.close();
  }
}
