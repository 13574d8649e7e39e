package dev.fulcrum.http.pekko;

import dev.fulcrum.http.proxy.HeaderRewriter;
import dev.fulcrum.http.proxy.ProxyError;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;

/** The pekko engine's rendering of the proxy's own responses: short plain-text bodies with the request id. */
final class Responses {
  private Responses() {}

  static HttpResponse of(ProxyError error, String requestId) {
    return HttpResponse.create()
        .withStatus(StatusCodes.get(error.status()))
        .withEntity(ContentTypes.TEXT_PLAIN_UTF8, error.body())
        .addHeader(RawHeader.create(HeaderRewriter.REQUEST_ID, requestId));
  }
}
