package dev.fulcrum.http;

import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.Connection;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;

/** The proxy's own responses: short plain-text bodies that say what went wrong, with the request id. */
final class Responses {
  private Responses() {}

  static HttpResponse noRoute(String requestId) {
    return error(StatusCodes.NOT_FOUND, "no route matched this request", requestId);
  }

  static HttpResponse forbidden(String requestId) {
    return error(StatusCodes.FORBIDDEN, "forbidden by the firewall", requestId);
  }

  static HttpResponse noBackend(String pool, String requestId) {
    return error(StatusCodes.SERVICE_UNAVAILABLE, "no healthy backend in pool '" + pool + "'", requestId);
  }

  static HttpResponse tooLarge(long limit, String requestId) {
    return error(StatusCodes.CONTENT_TOO_LARGE, "request body larger than the limit of " + limit + " bytes", requestId);
  }

  /** A request we refuse to interpret; the connection is closed after it, as its framing cannot be trusted. */
  static HttpResponse badRequest(String why, String requestId) {
    return error(StatusCodes.BAD_REQUEST, why, requestId).addHeader(Connection.create("close"));
  }

  static HttpResponse error(StatusCode status, String message, String requestId) {
    return HttpResponse.create()
        .withStatus(status)
        .withEntity(ContentTypes.TEXT_PLAIN_UTF8, status.intValue() + " " + message + "\n")
        .addHeader(RawHeader.create(HeaderRewriter.REQUEST_ID, requestId));
  }
}
