package dev.fulcrum.http;

import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;

/** The pekko engine's rendering of the proxy's own responses: short plain-text bodies with the request id. */
final class Responses {
  private Responses() {}

  static HttpResponse of(ProxyError error, String requestId) {
    return error(StatusCodes.get(error.status()), error.message(), requestId);
  }

  static HttpResponse error(StatusCode status, String message, String requestId) {
    return HttpResponse.create()
        .withStatus(status)
        .withEntity(ContentTypes.TEXT_PLAIN_UTF8, status.intValue() + " " + message + "\n")
        .addHeader(RawHeader.create(HeaderRewriter.REQUEST_ID, requestId));
  }
}
