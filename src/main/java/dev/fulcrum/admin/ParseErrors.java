package dev.fulcrum.admin;

import org.apache.pekko.event.LoggingAdapter;
import org.apache.pekko.http.ParsingErrorHandler;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.scaladsl.model.ErrorInfo;
import org.apache.pekko.http.scaladsl.model.StatusCode;
import org.apache.pekko.http.scaladsl.settings.ServerSettings;

/**
 * What the admin server answers a request Pekko HTTP could not parse (an unescaped '[' in the target, a bad header, a
 * target over the length limit): the API's {@code {"error": ...}} with Pekko's status, where Pekko's own handler
 * answers text/plain that a client of a JSON API fails to read. The handler never sees a request, only the error.
 * Pekko makes it from its class name ({@code withParsingErrorHandler}), so it needs a public no-argument constructor.
 */
public final class ParseErrors extends ParsingErrorHandler {
  @Override
  public HttpResponse handle(StatusCode status, ErrorInfo error, LoggingAdapter log, ServerSettings settings) {
    String summary = error.summary().isEmpty() ? status.reason() : error.summary();
    // the API's errors are one line; Pekko's detail may end in a caret line under the request target
    String detail = error.detail().lines().findFirst().orElse("").strip();
    String message = detail.isEmpty() ? summary : summary + ": " + detail;
    return HttpResponse.create()
        .withStatus(status.intValue())
        .withEntity(ContentTypes.APPLICATION_JSON, Json.write(Json.object().put("error", message)));
  }
}
