package dev.fulcrum.backend;

import dev.fulcrum.Failures;
import dev.fulcrum.config.HealthCheckSettings;
import dev.fulcrum.config.HostPort;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Collections;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.Connection;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.Tcp;
import org.apache.pekko.util.ByteString;

/**
 * One active health check against one backend, on a fresh connection each time (as HAProxy does), so a check sees
 * what a new client connection would see. The caller enforces the overall timeout.
 */
final class HealthProbe {
  private HealthProbe() {}

  /** Completes with empty when healthy, or with the reason it is not. Never completes exceptionally. */
  static CompletionStage<Optional<String>> run(ActorSystem<?> system, HostPort backend, HealthCheckSettings check) {
    CompletionStage<Optional<String>> outcome;
    try {
      outcome = switch (check.kind()) {
        case TCP -> tcp(system, backend, check.timeout());
        case HTTP -> http(system, backend, check);
      };
    } catch (IllegalStateException materializerStopped) {
      // Shutting down: the stream could not even start.
      outcome = CompletableFuture.failedFuture(materializerStopped);
    }
    return outcome.exceptionally(e -> Optional.of(Failures.describe(e)));
  }

  private static CompletionStage<Optional<String>> tcp(ActorSystem<?> system, HostPort backend, Duration timeout) {
    InetSocketAddress address = backend.toSocketAddress();
    // The outgoing side must stay open until connected: Pekko's TCP stage fails if its input ends before that.
    Pair<CompletableFuture<Optional<ByteString>>, CompletionStage<Tcp.OutgoingConnection>> started =
        Source.<ByteString>maybe()
            .viaMat(
                Tcp.get(system)
                    .outgoingConnection(
                        address, Optional.empty(), Collections.emptyList(), false, Optional.of(timeout), Optional.of(timeout)),
                Keep.both())
            .to(Sink.ignore())
            .run(system);
    return started.second().whenComplete((connected, failure) -> started.first().complete(Optional.empty()))
        .thenApply(connected -> Optional.empty());
  }

  private static CompletionStage<Optional<String>> http(ActorSystem<?> system, HostPort backend, HealthCheckSettings check) {
    HttpRequest request = HttpRequest.GET(check.path()).addHeader(Connection.create("close"));
    return Source.single(request)
        .via(Http.get(system).connectionTo(backend.host()).toPort(backend.port()).http())
        .runWith(Sink.head(), system)
        .thenCompose(response -> verdict(system, response, check));
  }

  private static CompletionStage<Optional<String>> verdict(
      ActorSystem<?> system, HttpResponse response, HealthCheckSettings check) {
    int status = response.status().intValue();
    if (status != check.expectStatus()) {
      response.discardEntityBytes(system);
      return CompletableFuture.completedFuture(
          Optional.of("HTTP " + check.path() + " answered " + status + ", expected " + check.expectStatus()));
    }
    if (check.expectBody().isEmpty()) {
      response.discardEntityBytes(system);
      return CompletableFuture.completedFuture(Optional.empty());
    }
    String expected = check.expectBody().get();
    return response
        .entity()
        .toStrict(check.timeout().toMillis(), system)
        .thenApply(
            strict -> {
              String body = strict.getData().utf8String().trim();
              return body.equals(expected)
                  ? Optional.<String>empty()
                  : Optional.of("HTTP " + check.path() + " body was '" + abbreviate(body) + "', expected '" + expected + "'");
            });
  }

  private static String abbreviate(String body) {
    return body.length() <= 40 ? body : body.substring(0, 40) + "...";
  }
}
