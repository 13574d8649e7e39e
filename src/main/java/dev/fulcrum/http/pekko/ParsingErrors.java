package dev.fulcrum.http.pekko;

import org.apache.pekko.event.LoggingAdapter;
import org.apache.pekko.http.DefaultParsingErrorHandler$;
import org.apache.pekko.http.ParsingErrorHandler;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.scaladsl.model.ErrorInfo;
import org.apache.pekko.http.scaladsl.model.StatusCode;
import org.apache.pekko.http.scaladsl.model.StatusCodes;
import org.apache.pekko.http.scaladsl.settings.ServerSettings;

/**
 * Pekko's answers to requests it cannot parse (400, 414, 431...), except that too many headers is a header-size
 * problem (431), not a malformed request. Pekko closes the connection after each of them. Named in the listener's
 * server settings ({@code parsing.error-handler}).
 */
public final class ParsingErrors extends ParsingErrorHandler {
  @Override
  public HttpResponse handle(StatusCode status, ErrorInfo info, LoggingAdapter log, ServerSettings settings) {
    StatusCode effective =
        status.intValue() == 400 && info.summary().contains("more than the configured limit") && info.summary().contains("headers")
            ? StatusCodes.RequestHeaderFieldsTooLarge()
            : status;
    return DefaultParsingErrorHandler$.MODULE$.handle(effective, info, log, settings);
  }
}
